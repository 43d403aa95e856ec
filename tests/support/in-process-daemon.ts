import { secretsOf } from '../../src/config';
import { runDaemon } from '../../src/daemon';
import { captureLogs, type CapturedLogs } from './capture';
import type { ConnectorWorld } from './connector-env';
import { sleep } from './wait';

/** The daemon in this process, logging through the same redaction as `main.ts` sets up. */
export interface RunningConnector {
  logs: CapturedLogs;
  /** Resolves with the exit code the process would have. */
  done: Promise<number>;
  /** As SIGTERM: stop fetching; the batch in flight still completes. */
  stop(): void;
  /** As a second signal: give up the batch in flight too. */
  abort(): void;
}

export function startConnector(
  world: ConnectorWorld,
  overrides: Record<string, string> = {},
): RunningConnector {
  const config = world.config(overrides);
  const secrets = secretsOf(config);
  const logs = captureLogs({ level: config.connector.log_level, secrets });
  const stop = new AbortController();
  const abort = new AbortController();
  const done = runDaemon(config, logs.logger, { stop: stop.signal, abort: abort.signal }, secrets);
  return {
    logs,
    done,
    stop: () => stop.abort(new Error('test: stop')),
    abort: () => {
      stop.abort(new Error('test: stop'));
      abort.abort(new Error('test: abort'));
    },
  };
}

export async function runConnector(
  world: ConnectorWorld,
  overrides: Record<string, string> = {},
): Promise<{ code: number; logs: CapturedLogs }> {
  const connector = startConnector(world, overrides);
  return { code: await connector.done, logs: connector.logs };
}

/** Resolves with the first log entry matching, polling the captured lines. */
export async function waitForLog(
  logs: CapturedLogs,
  predicate: (entry: Record<string, unknown>) => boolean,
  timeoutMs = 15_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = logs.entries().find(predicate);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(`no such log line within ${timeoutMs} ms:\n${logs.text().slice(-3000)}`);
    }
    await sleep(20);
  }
}
