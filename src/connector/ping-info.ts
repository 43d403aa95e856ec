import type { ConnectorInfo } from '../opencti/api';
import { BufferingCauses } from './buffering';
import type { RunEnd, RunObserver } from './observer';

const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Keeps the run information every ping carries, and pings at once when buffering changes. */
export class PingInfo implements RunObserver {
  private readonly causes = new BufferingCauses();

  constructor(
    readonly info: ConnectorInfo,
    private readonly ping: () => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  queueChecked(sizeMb: number, buffering: boolean): void {
    this.info.queue_messages_size = sizeMb;
    this.show(this.causes.threshold(buffering));
  }

  pushRefused(): void {
    this.show(this.causes.brokerRefusing(true));
  }

  pushAccepting(): void {
    this.show(this.causes.brokerRefusing(false));
  }

  runEnded({ nextRunAt }: RunEnd): void {
    this.info.last_run_datetime = isoSeconds(this.now());
    this.info.next_run_datetime = nextRunAt ? isoSeconds(nextRunAt) : null;
  }

  private show(buffering: boolean): void {
    if (this.info.buffering === buffering) return;
    this.info.buffering = buffering;
    this.ping();
  }
}
