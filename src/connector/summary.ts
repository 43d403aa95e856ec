import type { StixObject } from '../stix/types';
import type { IocType } from '../ioc-types';

/** `state_not_stored`: a single run delivered everything, but OpenCTI did not store its cursors. */
export type RunOutcome =
  'running' | 'completed' | 'state_not_stored' | 'stopped' | 'reset' | 'failed';

export interface TypeCounts {
  fetched: number;
  imported: number;
  revoked: number;
  /** Revocations sent although OpenCTI could not say whether it holds the indicator. */
  revoked_unverified: number;
  skipped: number;
  /** Records whose description or labels were cut to their bounds. */
  truncated: number;
  pages: number;
}

/** Why a `state_not_stored` run did not succeed, in the work message and the logs. */
export const STATE_NOT_STORED =
  'OpenCTI does not hold the final state: the next run repeats what this one imported';

const zero = (): TypeCounts => ({
  fetched: 0,
  imported: 0,
  revoked: 0,
  revoked_unverified: 0,
  skipped: 0,
  truncated: 0,
  pages: 0,
});

/**
 * What one run did, for the logs, the OpenCTI work message, the metrics and `/status`. It is a
 * RunObserver by shape, so that the observer module need not import it back.
 */
export class RunSummary {
  endedAt: Date | null = null;
  outcome: RunOutcome = 'running';
  cursors: Partial<Record<IocType, string>> = {};
  readonly byType: Partial<Record<IocType, TypeCounts>> = {};
  readonly skippedByReason: Record<string, number> = {};
  bundles = 0;
  messages = 0;
  /** Threat models imported, and the objects their bundles held by STIX type. */
  readonly threatModels = { imported: 0, objects: {} as Record<string, number> };

  constructor(readonly startedAt: Date) {}

  private counts(type: IocType): TypeCounts {
    return (this.byType[type] ??= zero());
  }

  fetched(type: IocType, records: number): void {
    this.counts(type).fetched += records;
  }

  skipped(type: IocType, reason: string): void {
    this.counts(type).skipped++;
    this.skippedByReason[reason] = (this.skippedByReason[reason] ?? 0) + 1;
  }

  truncated(type: IocType): void {
    this.counts(type).truncated++;
  }

  revokedUnverified(type: IocType, count: number): void {
    this.counts(type).revoked_unverified += count;
  }

  delivered(type: IocType, objects: readonly StixObject[], messages: number): void {
    const counts = this.counts(type);
    for (const object of objects) {
      if (object.type !== 'indicator') continue;
      counts.imported++;
      if (object.revoked) counts.revoked++;
    }
    this.bundles++;
    this.messages += messages;
  }

  pageSaved(type: IocType, cursor: string, page: TypeCounts | null): void {
    if (page !== null) this.counts(type).pages++;
    this.cursors[type] = cursor;
  }

  modelDelivered(objects: readonly StixObject[], messages: number): void {
    const counts = this.threatModels.objects;
    for (const { type } of objects) {
      if (type !== 'identity' && type !== 'marking-definition')
        counts[type] = (counts[type] ?? 0) + 1;
    }
    this.bundles++;
    this.messages += messages;
  }

  modelSaved(): void {
    this.threatModels.imported++;
  }

  typeCounts(type: IocType): TypeCounts {
    return { ...this.counts(type) };
  }

  totals(): TypeCounts {
    const total = zero();
    for (const counts of Object.values(this.byType)) {
      for (const key of Object.keys(total) as (keyof TypeCounts)[]) total[key] += counts[key];
    }
    return total;
  }

  end(at: Date, outcome: Exclude<RunOutcome, 'running'>): this {
    this.endedAt = at;
    this.outcome = outcome;
    return this;
  }

  /** One line for people: the OpenCTI work message and the end-of-run log. */
  describe(): string {
    const t = this.totals();
    const reasons = Object.entries(this.skippedByReason)
      .map(([reason, n]) => `${reason}: ${n}`)
      .join(', ');
    return (
      `Fetched ${t.fetched} ThreatStream IOCs; imported ${t.imported} indicators (${t.revoked} revoked` +
      `${t.revoked_unverified > 0 ? `, ${t.revoked_unverified} of them unverified` : ''}); ` +
      `skipped ${t.skipped}${reasons ? ` (${reasons})` : ''};${this.describeModels()} ` +
      `${this.bundles} bundles, ${this.messages} messages${this.describeOutcome()}`
    );
  }

  /** The end of the line: nothing for a completed run. */
  private describeOutcome(): string {
    if (this.outcome === 'completed' || this.outcome === 'running') return '.';
    if (this.outcome === 'state_not_stored') return `. ${STATE_NOT_STORED}.`;
    return ` (${this.outcome}).`;
  }

  /** ` imported N threat models (objects by type);`, or nothing when no model changed. */
  private describeModels(): string {
    const { imported, objects } = this.threatModels;
    if (imported === 0) return '';
    const sent = Object.entries(objects)
      .map(([type, n]) => `${n} ${type}`)
      .join(', ');
    return ` imported ${imported} threat models (${sent});`;
  }

  toJSON() {
    const durationMs = (this.endedAt ?? new Date()).getTime() - this.startedAt.getTime();
    return {
      outcome: this.outcome,
      started_at: this.startedAt.toISOString(),
      ended_at: this.endedAt?.toISOString() ?? null,
      duration_s: Math.round(durationMs / 100) / 10,
      ...this.totals(),
      skipped_by_reason: { ...this.skippedByReason },
      by_type: structuredClone(this.byType),
      bundles: this.bundles,
      messages: this.messages,
      threat_models: structuredClone(this.threatModels),
      cursors: { ...this.cursors },
    };
  }
}
