import { BufferingCauses } from '../connector/buffering';
import type { RunEnd, RunObserver } from '../connector/observer';
import { serializeError } from '../log';
import type { RunSummary } from '../connector/summary';
import type { IocType } from '../ioc-types';

export interface Health {
  ok: boolean;
  reason: string;
}

/** What the daemon is doing, for `/status` and `/health`. */
export class ConnectorStatus implements RunObserver {
  running = false;
  lastRun: ReturnType<RunSummary['toJSON']> | null = null;
  lastError: string | null = null;
  nextRunAt: Date | null = null;
  queueSizeMb = 0;
  /** Whether the last ping reached OpenCTI; undefined before the first one. */
  openCtiReachable: boolean | undefined;

  /** The cursors as the connector holds them; none until the state is known. */
  cursors: () => Partial<Record<IocType, string>> = () => ({});
  private readonly causes = new BufferingCauses();

  get buffering(): boolean {
    return this.causes.buffering;
  }

  runStarted(): void {
    this.running = true;
  }

  queueChecked(sizeMb: number, buffering: boolean): void {
    this.queueSizeMb = sizeMb;
    this.causes.threshold(buffering);
  }

  pushRefused(): void {
    this.causes.brokerRefusing(true);
  }

  pushAccepting(): void {
    this.causes.brokerRefusing(false);
  }

  runEnded({ summary, error, nextRunAt }: RunEnd): void {
    this.running = false;
    this.nextRunAt = nextRunAt;
    if (summary) this.lastRun = summary.toJSON();
    this.lastError = error === undefined ? null : serializeError(error).message;
  }

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
