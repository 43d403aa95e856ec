import { describe, expect, it } from '@jest/globals';
import { RevocationFilter, type IndicatorLookup } from '../../src/connector/revocations';
import { OpenCtiGraphQLError } from '../../src/opencti/api';
import type { Indicator } from '../../src/stix/types';
import { captureLogs } from '../support/capture';

const NOW = new Date('2026-03-01T12:00:00.000Z');

function indicator(n: number, overrides: Partial<Indicator> = {}): Indicator {
  return {
    id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    revoked: false,
    valid_until: '2027-01-01T00:00:00.000Z',
    ...overrides,
  } as Indicator;
}

function tracker() {
  const skipped: string[] = [];
  let unverified = 0;
  return {
    skipped,
    unverified: () => unverified,
    track: {
      skipped: (_type: string, reason: string) => void skipped.push(reason),
      revokedUnverified: (_type: string, count: number) => void (unverified += count),
    },
  };
}

/** A lookup that answers from `held` and records each batch of ids it was asked about. */
function lookupHolding(held: Indicator[]) {
  const asked: string[][] = [];
  const ids = new Set<string>(held.map((i) => i.id));
  const lookup: IndicatorLookup = (batch) => {
    asked.push([...batch]);
    return Promise.resolve(new Set(batch.filter((id) => ids.has(id))));
  };
  return { lookup, asked };
}

describe('RevocationFilter', () => {
  it('sends live indicators without asking OpenCTI anything', async () => {
    const { lookup, asked } = lookupHolding([]);
    const filter = new RevocationFilter(lookup, captureLogs().logger, () => NOW);
    const live = [indicator(1), indicator(2, { valid_until: undefined })];
    const t = tracker();

    expect(await filter.keep('ip', live, t.track)).toEqual(live);
    expect(asked).toEqual([]);
  });

  it('keeps revocations of held indicators and skips the others as not_in_opencti', async () => {
    const imported = indicator(1, { revoked: true });
    const neverImported = indicator(2, { revoked: true });
    const expired = indicator(3, { valid_until: '2026-02-01T00:00:00.000Z' });
    const live = indicator(4);
    const { lookup, asked } = lookupHolding([imported]);
    const filter = new RevocationFilter(lookup, captureLogs().logger, () => NOW);
    const t = tracker();

    const kept = await filter.keep('ip', [imported, neverImported, expired, live], t.track);

    expect(kept).toEqual([imported, live]);
    expect(t.skipped).toEqual(['not_in_opencti', 'not_in_opencti']);
    expect(asked).toEqual([[imported.id, neverImported.id, expired.id]]);
  });

  it('asks about at most 500 ids a query', async () => {
    const revoked = Array.from({ length: 1001 }, (_, n) => indicator(n, { revoked: true }));
    const { lookup, asked } = lookupHolding(revoked);
    const filter = new RevocationFilter(lookup, captureLogs().logger, () => NOW);

    expect(await filter.keep('url', revoked, tracker().track)).toEqual(revoked);
    expect(asked.map((batch) => batch.length)).toEqual([500, 500, 1]);
  });

  it('sends revocations unverified, and says so once, while the lookup fails; verifies again once it answers', async () => {
    const logs = captureLogs();
    const revoked = [indicator(1, { revoked: true }), indicator(2, { revoked: true })];
    let failing = true;
    const lookup: IndicatorLookup = (ids) =>
      failing ? Promise.reject(new Error('socket hang up')) : Promise.resolve(new Set([ids[0]!]));
    const filter = new RevocationFilter(lookup, logs.logger, () => NOW);
    const t = tracker();

    expect(await filter.keep('ip', revoked, t.track)).toEqual(revoked);
    expect(await filter.keep('ip', revoked, t.track)).toEqual(revoked);
    expect(t.unverified()).toBe(4);
    const warnings = () => logs.entries().filter((e) => e.level === 'warn');
    expect(warnings()).toHaveLength(1);

    failing = false;
    expect(await filter.keep('ip', revoked, t.track)).toEqual([revoked[0]]);
    expect(t.skipped).toEqual(['not_in_opencti']);
  });

  it('stops asking once OpenCTI denies the lookup, and sends revocations unverified', async () => {
    const logs = captureLogs();
    let calls = 0;
    const lookup: IndicatorLookup = () => {
      calls++;
      return Promise.reject(
        new OpenCtiGraphQLError('IndicatorsHeld', [{ name: 'FORBIDDEN_ACCESS', message: 'no' }]),
      );
    };
    const filter = new RevocationFilter(lookup, logs.logger, () => NOW);
    const revoked = [indicator(1, { revoked: true })];
    const t = tracker();

    await filter.keep('ip', revoked, t.track);
    expect(await filter.keep('ip', revoked, t.track)).toEqual(revoked);

    expect(calls).toBe(1);
    expect(t.unverified()).toBe(2);
    const warning = logs.entries().find((e) => e.level === 'warn');
    expect(String(warning?.message)).toContain('does not let the connector read indicators');
  });

  it('without a lookup (ANOMALI_REVOKE_UNKNOWN, or a dry run) sends every revocation as it is', async () => {
    const filter = new RevocationFilter(null, captureLogs().logger, () => NOW);
    const revoked = [indicator(1, { revoked: true })];
    const t = tracker();

    expect(await filter.keep('ip', revoked, t.track)).toEqual(revoked);
    expect(t.unverified()).toBe(0);
    expect(t.skipped).toEqual([]);
  });
});
