import type { RunSummary } from '../connector/summary';
import type { IocType } from '../ioc-types';

export interface Health {
  ok: boolean;
  reason: string;
}

/** What the daemon is doing, for `/status` and `/health`. */
export class ConnectorStatus {
  running = false;
  lastRun: ReturnType<RunSummary['toJSON']> | null = null;
  lastError: string | null = null;
  nextRunAt: Date | null = null;
  buffering = false;
  queueSizeMb = 0;
  /** Whether the last ping reached OpenCTI; undefined before the first one. */
  openCtiReachable: boolean | undefined;

  constructor(private readonly cursors: () => Partial<Record<IocType, string>>) {}

  health(): Health {
    if (this.lastError !== null) return { ok: false, reason: `last run failed: ${this.lastError}` };
    if (this.openCtiReachable === false)
      return { ok: false, reason: 'OpenCTI was unreachable at the last attempt' };
    return {
      ok: true,
      reason: this.lastRun ? `last run ${this.lastRun.outcome}` : 'no run finished yet',
    };
  }

  snapshot() {
    return {
      health: this.health(),
      running: this.running,
      cursors: this.cursors(),
      last_run: this.lastRun,
      last_error: this.lastError,
      next_run_at: this.nextRunAt?.toISOString() ?? null,
      buffering: this.buffering,
      queue_size_mb: this.queueSizeMb,
    };
  }
}
