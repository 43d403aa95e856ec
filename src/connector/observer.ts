import type { IocType } from '../ioc-types';
import type { ModelType } from '../model-types';
import type { StixObject } from '../stix/types';
import type { RunSummary, TypeCounts } from './summary';

export interface RunEnd {
  summary?: RunSummary;
  error?: unknown;
  /** When the next run starts; null when the daemon stops after this one. */
  nextRunAt: Date | null;
}

/**
 * What the daemon reports as it goes. The run summary, the metrics, `/status` and the ping's
 * run information each listen to the events they need.
 */
export interface RunObserver {
  runStarted?(): void;
  /** The connector's queue in OpenCTI was measured; `buffering` while the import holds back. */
  queueChecked?(sizeMb: number, buffering: boolean): void;
  /** RabbitMQ refused `messages` messages because the push queue is full: the import buffers. */
  pushRefused?(messages: number): void;
  /** RabbitMQ took a whole batch again after refusing some of it. */
  pushAccepting?(): void;
  fetched?(type: IocType, records: number): void;
  skipped?(type: IocType, reason: string): void;
  /** A record's description or labels were cut to their bounds. */
  truncated?(type: IocType): void;
  /** Revocations sent although OpenCTI could not say whether it holds their indicators. */
  revokedUnverified?(type: IocType, count: number): void;
  delivered?(type: IocType, objects: readonly StixObject[], messages: number): void;
  /**
   * A page's cursor was saved: every batch holding the page was accepted. `page`: its own counts;
   * null when the cursor moved to the type's last page once its waiting deactivations were sent.
   */
  pageSaved?(type: IocType, cursor: string, page: TypeCounts | null): void;
  /** A bundle of the threat-model import was accepted. */
  modelDelivered?(objects: readonly StixObject[], messages: number): void;
  /** Every bundle of a changed threat model was accepted, and the models' cursor saved past it. */
  modelSaved?(type: ModelType, id: string): void;
  runEnded?(end: RunEnd): void;
}

/** One observer that tells every one of `observers`, in order. */
export function everyObserver(observers: readonly RunObserver[]): Required<RunObserver> {
  return {
    runStarted: () => observers.forEach((o) => o.runStarted?.()),
    queueChecked: (sizeMb, buffering) =>
      observers.forEach((o) => o.queueChecked?.(sizeMb, buffering)),
    pushRefused: (messages) => observers.forEach((o) => o.pushRefused?.(messages)),
    pushAccepting: () => observers.forEach((o) => o.pushAccepting?.()),
    fetched: (type, records) => observers.forEach((o) => o.fetched?.(type, records)),
    skipped: (type, reason) => observers.forEach((o) => o.skipped?.(type, reason)),
    truncated: (type) => observers.forEach((o) => o.truncated?.(type)),
    revokedUnverified: (type, count) =>
      observers.forEach((o) => o.revokedUnverified?.(type, count)),
    delivered: (type, objects, messages) =>
      observers.forEach((o) => o.delivered?.(type, objects, messages)),
    pageSaved: (type, cursor, page) => observers.forEach((o) => o.pageSaved?.(type, cursor, page)),
    modelDelivered: (objects, messages) =>
      observers.forEach((o) => o.modelDelivered?.(objects, messages)),
    modelSaved: (type, id) => observers.forEach((o) => o.modelSaved?.(type, id)),
    runEnded: (end) => observers.forEach((o) => o.runEnded?.(end)),
  };
}
