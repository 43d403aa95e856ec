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
    private readonly now: () => Date,
  ) {}

  /** Whether deactivations are checked against OpenCTI: worth waiting to check many at once. */
  get verifies(): boolean {
    return this.lookup !== null && !this.denied;
  }

  async keep(type: IocType, indicators: Indicator[], track: Tracker): Promise<Indicator[]> {
    const now = this.now().toISOString();
    const revocations = indicators.filter((i) => isDeactivation(i, now));
    if (revocations.length === 0 || this.lookup === null) return indicators;
    const held = await this.held(revocations.map((i) => i.id));
    if (held === undefined) {
      track.revokedUnverified(type, revocations.length);
      return indicators;
    }
    const unknown = new Set(revocations.filter((i) => !held.has(i.id)).map((i) => i.id));
    for (let n = 0; n < unknown.size; n++) track.skipped(type, 'not_in_opencti');
    return unknown.size === 0 ? indicators : indicators.filter((i) => !unknown.has(i.id));
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
