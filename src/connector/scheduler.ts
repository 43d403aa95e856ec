import { sleep } from '../retry';
import { serializeError, type Logger } from '../log';
import type { RunObserver } from './observer';
import type { RunSignals } from './run';
import type { RunSummary } from './summary';

export interface SchedulerOptions {
  /** 0 runs once. The next run starts this long after the previous one ended, as pycti does. */
  periodMs: number;
  runAndTerminate: boolean;
  run: (signals: RunSignals) => Promise<RunSummary>;
  /** Errors that no later run can fix (wrong credentials): the daemon exits on them. */
  isFatal: (error: unknown) => boolean;
  logger: Logger;
  now?: () => Date;
  /** Told when each run starts and ends. */
  observer?: RunObserver;
}

/**
 * Runs the import at start, then `periodMs` after each run ends. Runs never overlap. A failed
 * run is logged and the next one is awaited; only fatal errors end the daemon.
 * Resolves with the process exit code.
 */
export async function schedule(options: SchedulerOptions, signals: RunSignals): Promise<number> {
  const { logger, periodMs } = options;
  const now = options.now ?? (() => new Date());
  const once = options.runAndTerminate || periodMs === 0;
  for (;;) {
    options.observer?.runStarted?.();
    const { summary, error } = await runReportingFailure(options, signals);
    if (error !== undefined && options.isFatal(error)) {
      options.observer?.runEnded?.({ error, nextRunAt: null });
      return 1;
    }
    const stopping = once || signals.stop.aborted;
    const nextRunAt = stopping ? null : new Date(now().getTime() + periodMs);
    options.observer?.runEnded?.({
      ...(summary && { summary }),
      ...(error !== undefined && { error }),
      nextRunAt,
    });
    if (stopping) return once && error !== undefined ? 1 : 0;
    logger.info('Next run scheduled', { next_run_at: nextRunAt?.toISOString() });
    try {
      await sleep(periodMs, signals.stop);
    } catch {
      return 0;
    }
  }
}

/** One run; its failure is logged and returned, never thrown. */
async function runReportingFailure(
  { run, isFatal, logger }: SchedulerOptions,
  signals: RunSignals,
): Promise<{ summary?: RunSummary; error?: unknown }> {
  try {
    return { summary: await run(signals) };
  } catch (error) {
    const message = isFatal(error)
      ? 'Stopping: this error needs a configuration change'
      : 'Run failed; the cursors stay where the last delivered page left them';
    logger.error(message, { error: serializeError(error) });
    return { error: error ?? new Error('the run failed without a reason') };
  }
}
