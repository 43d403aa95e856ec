import type { ConnectorInfo } from '../opencti/api';
import type { RunEnd, RunObserver } from './observer';

const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Keeps the run information every ping carries, and pings at once when buffering changes. */
export class PingInfo implements RunObserver {
  constructor(
    readonly info: ConnectorInfo,
    private readonly ping: () => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  queueChecked(sizeMb: number, buffering: boolean): void {
    this.info.queue_messages_size = sizeMb;
    if (this.info.buffering === buffering) return;
    this.info.buffering = buffering;
    this.ping();
  }

  runEnded({ nextRunAt }: RunEnd): void {
    this.info.last_run_datetime = isoSeconds(this.now());
    this.info.next_run_datetime = nextRunAt ? isoSeconds(nextRunAt) : null;
  }
}
