import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BufferingCauses } from '../connector/buffering';
import type { RunEnd, RunObserver } from '../connector/observer';
import type { StixObject } from '../stix/types';
import type { RequestEvent } from '../threatstream/client';
import type { IocType } from '../ioc-types';

export type ConnectorRunState = 'idle' | 'running' | 'stopped';
const RUN_STATES: readonly ConnectorRunState[] = ['idle', 'running', 'stopped'];

/**
 * Prometheus metrics: pycti's connector metric names, so existing dashboards keep working,
 * plus the ThreatStream import's own.
 */
export class Metrics implements RunObserver {
  readonly registry = new Registry();
  readonly bundlesSent = this.counter(
    'bundles_sent_total',
    'Messages published to OpenCTI, one per STIX object as pycti counts them',
  );
  readonly recordsSent = this.counter('records_sent_total', 'STIX objects delivered to OpenCTI');
  readonly runs = this.counter('runs_total', 'Import runs started');
  readonly pings = this.counter('ping_api_total', 'Pings sent to OpenCTI');
  readonly pingErrors = this.counter('ping_api_errors_total', 'Pings to OpenCTI that failed');
  readonly errors = this.counter('errors_total', 'Import runs that failed');
  readonly clientErrors = this.counter('client_errors_total', 'ThreatStream requests that failed');
  readonly state = this.gauge('state', 'Connector state, 1 for the current one', ['state']);
  readonly iocsFetched = this.counter(
    'threatstream_iocs_fetched_total',
    'IOCs received from ThreatStream',
    ['type'],
  );
  readonly iocsImported = this.counter(
    'threatstream_iocs_imported_total',
    'Indicators delivered to OpenCTI',
    ['type'],
  );
  readonly iocsRevoked = this.counter(
    'threatstream_iocs_revoked_total',
    'Revoked indicators delivered to OpenCTI',
    ['type'],
  );
  readonly iocsRevokedUnverified = this.counter(
    'threatstream_iocs_revoked_unverified_total',
    'Revocations sent although OpenCTI could not say whether it holds the indicator',
    ['type'],
  );
  readonly iocsTruncated = this.counter(
    'threatstream_iocs_truncated_total',
    'IOCs whose description or labels were cut to their bounds',
    ['type'],
  );
  readonly iocsSkipped = this.counter(
    'threatstream_iocs_skipped_total',
    'IOCs skipped, by reason',
    ['type', 'reason'],
  );
  readonly cursor = this.gauge('threatstream_cursor', 'Last delivered ThreatStream update_id', [
    'type',
  ]);
  readonly lastPage = this.gauge(
    'threatstream_last_page_timestamp_seconds',
    'When the last page of each IOC type was delivered, for the age of its cursor',
    ['type'],
  );
  readonly queueSize = this.gauge(
    'opencti_queue_size_megabytes',
    "Size of the connector's queue in OpenCTI",
  );
  readonly queueThreshold = this.gauge(
    'opencti_queue_threshold_megabytes',
    'Queue size at which the import pauses (CONNECTOR_QUEUE_THRESHOLD)',
  );
  readonly buffering = this.gauge(
    'opencti_queue_buffering',
    '1 while the import waits for the queue to drain',
  );
  readonly publishRejections = this.counter(
    'opencti_queue_publish_rejections_total',
    'Messages RabbitMQ refused because the push queue was full; each is re-sent',
  );
  readonly lastSuccess = this.gauge(
    'last_successful_run_timestamp_seconds',
    'End of the last completed run',
  );
  readonly requestDuration = new Histogram({
    name: 'threatstream_request_duration_seconds',
    help: 'ThreatStream request latency',
    labelNames: ['status'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly retries = this.counter(
    'threatstream_request_retries_total',
    'ThreatStream requests retried',
  );

  readonly runDuration = new Histogram({
    name: 'run_duration_seconds',
    help: 'Duration of the import runs, by outcome',
    labelNames: ['outcome'],
    buckets: [1, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14_400, 43_200],
    registers: [this.registry],
  });
  private runStartedAt: Date | undefined;

  private readonly bufferingCauses = new BufferingCauses();

  constructor(private readonly now: () => Date = () => new Date()) {
    this.setState('idle');
  }

  setState(current: ConnectorRunState): void {
    for (const s of RUN_STATES) this.state.set({ state: s }, s === current ? 1 : 0);
  }

  runStarted(): void {
    this.runs.inc();
    this.setState('running');
    this.runStartedAt = this.now();
  }

  queueChecked(sizeMb: number, buffering: boolean): void {
    this.queueSize.set(sizeMb);
    this.buffering.set(this.bufferingCauses.threshold(buffering) ? 1 : 0);
  }

  pushRefused(messages: number): void {
    this.publishRejections.inc(messages);
    this.buffering.set(this.bufferingCauses.brokerRefusing(true) ? 1 : 0);
  }

  pushAccepting(): void {
    this.buffering.set(this.bufferingCauses.brokerRefusing(false) ? 1 : 0);
  }

  /** A run that threw ends `failed`; the others with their summary's outcome. */
  runEnded({ summary, error }: RunEnd): void {
    this.setState('idle');
    if (this.runStartedAt !== undefined) {
      const seconds = (this.now().getTime() - this.runStartedAt.getTime()) / 1000;
      const outcome = error === undefined ? (summary?.outcome ?? 'failed') : 'failed';
      this.runDuration.observe({ outcome }, seconds);
      this.runStartedAt = undefined;
    }
    if (error !== undefined) this.errors.inc();
    else if (summary?.outcome === 'completed') this.lastSuccess.set(this.now().getTime() / 1000);
  }

  /** Told by the heartbeat after every ping. */
  pinged(ok: boolean): void {
    this.pings.inc();
    if (!ok) this.pingErrors.inc();
  }

  fetched(type: IocType, records: number): void {
    this.iocsFetched.inc({ type }, records);
  }

  skipped(type: IocType, reason: string): void {
    this.iocsSkipped.inc({ type, reason });
  }

  truncated(type: IocType): void {
    this.iocsTruncated.inc({ type });
  }

  revokedUnverified(type: IocType, count: number): void {
    this.iocsRevokedUnverified.inc({ type }, count);
  }

  delivered(type: IocType, objects: readonly StixObject[], messages: number): void {
    let imported = 0;
    let revoked = 0;
    for (const object of objects) {
      if (object.type !== 'indicator') continue;
      imported++;
      if (object.revoked) revoked++;
    }
    this.iocsImported.inc({ type }, imported);
    this.iocsRevoked.inc({ type }, revoked);
    this.recordsSent.inc(objects.length);
    this.bundlesSent.inc(messages);
  }

  pageSaved(type: IocType, cursor: string): void {
    this.cursor.set({ type }, Number(cursor));
    this.lastPage.set({ type }, this.now().getTime() / 1000);
  }

  request(event: RequestEvent): void {
    this.requestDuration.observe({ status: String(event.status) }, event.durationMs / 1000);
    if (event.retried) this.retries.inc();
    if (event.status === 'network_error' || event.status >= 400) this.clientErrors.inc();
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
