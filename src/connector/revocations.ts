import type { IocType } from '../ioc-types';
import { serializeError, type Logger } from '../log';
import { isPermanent } from '../retry';
import type { Indicator } from '../stix/types';
import type { RunObserver } from './observer';

/** Which of the given indicator ids OpenCTI holds. */
export type IndicatorLookup = (ids: readonly string[]) => Promise<ReadonlySet<string>>;

/** Ids asked about in one query: a batch's worth. */
export const LOOKUP_BATCH = 500;

/** A revoked indicator, or one whose validity has already ended: ThreatStream deactivated it. */
export function isDeactivation(indicator: Indicator, nowIso: string): boolean {
  return indicator.revoked || (indicator.valid_until ?? nowIso) < nowIso;
}

/** An indicator and the IOC type it was fetched as. */
export interface TypedIndicator {
  type: IocType;
  indicator: Indicator;
}

type Tracker = Required<Pick<RunObserver, 'skipped' | 'revokedUnverified'>>;

/**
 * Keeps ThreatStream's deactivations from creating indicators OpenCTI never had: a revocation
 * (a revoked indicator, or one already expired) is sent only for an indicator OpenCTI holds.
 * When OpenCTI cannot tell, revocations are sent anyway (at least once beats silence) and
 * counted as unverified.
 */
export class RevocationFilter {
  private denied = false;
  private warned = false;

  constructor(
    private readonly lookup: IndicatorLookup | null,
    private readonly logger: Logger,
  ) {}

  /** Whether deactivations are checked against OpenCTI: worth waiting to check many at once. */
  get verifies(): boolean {
    return this.lookup !== null && !this.denied;
  }

  /** The deactivations to send: those of indicators OpenCTI holds, or all when it cannot say. */
  async keep(deactivations: readonly TypedIndicator[], track: Tracker): Promise<TypedIndicator[]> {
    if (deactivations.length === 0 || this.lookup === null) return [...deactivations];
    const held = await this.held(deactivations.map(({ indicator }) => indicator.id));
    if (held === undefined) {
      const byType = new Map<IocType, number>();
      for (const { type } of deactivations) byType.set(type, (byType.get(type) ?? 0) + 1);
      for (const [type, count] of byType) track.revokedUnverified(type, count);
      return [...deactivations];
    }
    const kept: TypedIndicator[] = [];
    for (const deactivation of deactivations) {
      if (held.has(deactivation.indicator.id)) kept.push(deactivation);
      else track.skipped(deactivation.type, 'not_in_opencti');
    }
    return kept;
  }

  /** The ids among `ids` that OpenCTI holds; undefined when it cannot say. */
  private async held(ids: readonly string[]): Promise<ReadonlySet<string> | undefined> {
    if (this.denied || this.lookup === null) return undefined;
    const held = new Set<string>();
    try {
      for (let start = 0; start < ids.length; start += LOOKUP_BATCH) {
        for (const id of await this.lookup(ids.slice(start, start + LOOKUP_BATCH))) held.add(id);
      }
    } catch (error) {
      this.denied = isPermanent(error);
      this.warnOnce(error);
      return undefined;
    }
    this.warned = false;
    return held;
  }

  private warnOnce(error: unknown): void {
    if (this.warned) return;
    this.warned = true;
    const message = this.denied
      ? 'OpenCTI does not let the connector read indicators; deactivations are sent unverified (grant the connector user the knowledge access)'
      : 'Could not ask OpenCTI which indicators it holds; deactivations are sent unverified until it answers again';
    this.logger.warn(message, { error: serializeError(error) });
  }
}
