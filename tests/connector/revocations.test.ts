import { describe, expect, it } from '@jest/globals';
import { RevocationFilter, type IndicatorLookup } from '../../src/connector/revocations';
import { OpenCtiGraphQLError } from '../../src/opencti/api';
import type { IocType } from '../../src/ioc-types';
import type { Indicator } from '../../src/stix/types';
import { captureLogs } from '../support/capture';

function indicator(n: number, overrides: Partial<Indicator> = {}): Indicator {
  return {
    id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    revoked: false,
    valid_until: '2027-01-01T00:00:00.000Z',
    ...overrides,
  } as Indicator;
}

function typed(indicators: readonly Indicator[], type: IocType = 'ip') {
  return indicators.map((indicator) => ({ type, indicator }));
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
  it('asks OpenCTI nothing when no deactivation is given', async () => {
    const { lookup, asked } = lookupHolding([]);
    const filter = new RevocationFilter(lookup, captureLogs().logger);

    expect(await filter.keep([], tracker().track)).toEqual([]);
    expect(asked).toEqual([]);
  });

  it('keeps revocations of held indicators and skips the others as not_in_opencti, by type', async () => {
    const imported = indicator(1, { revoked: true });
    const neverImported = indicator(2, { revoked: true });
    const expired = indicator(3, { valid_until: '2026-02-01T00:00:00.000Z' });
    const { lookup, asked } = lookupHolding([imported]);
    const filter = new RevocationFilter(lookup, captureLogs().logger);
    const skipped: string[] = [];
    const track = {
      skipped: (type: string, reason: string) => void skipped.push(`${type}:${reason}`),
      revokedUnverified: () => undefined,
    };

    const kept = await filter.keep(
      [...typed([imported, neverImported]), ...typed([expired], 'domain')],
      track,
    );

    expect(kept).toEqual(typed([imported]));
    expect(skipped).toEqual(['ip:not_in_opencti', 'domain:not_in_opencti']);
    expect(asked).toEqual([[imported.id, neverImported.id, expired.id]]);
  });

  it('asks about at most 500 ids a query', async () => {
    const revoked = Array.from({ length: 1001 }, (_, n) => indicator(n, { revoked: true }));
    const { lookup, asked } = lookupHolding(revoked);
    const filter = new RevocationFilter(lookup, captureLogs().logger);

    expect(await filter.keep(typed(revoked), tracker().track)).toEqual(typed(revoked));
    expect(asked.map((batch) => batch.length)).toEqual([500, 500, 1]);
  });

  it('sends revocations unverified, and says so once, while the lookup fails; verifies again once it answers', async () => {
    const logs = captureLogs();
    const revoked = [indicator(1, { revoked: true }), indicator(2, { revoked: true })];
    let failing = true;
    const lookup: IndicatorLookup = (ids) =>
      failing ? Promise.reject(new Error('socket hang up')) : Promise.resolve(new Set([ids[0]!]));
    const filter = new RevocationFilter(lookup, logs.logger);
    const t = tracker();

    expect(await filter.keep(typed(revoked), t.track)).toEqual(typed(revoked));
    expect(await filter.keep(typed(revoked), t.track)).toEqual(typed(revoked));
    expect(t.unverified()).toBe(4);
    const warnings = () => logs.entries().filter((e) => e.level === 'warn');
    expect(warnings()).toHaveLength(1);

    failing = false;
    expect(await filter.keep(typed(revoked), t.track)).toEqual(typed([revoked[0]!]));
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
    const filter = new RevocationFilter(lookup, logs.logger);
    const revoked = [indicator(1, { revoked: true })];
    const t = tracker();

    await filter.keep(typed(revoked), t.track);
    expect(await filter.keep(typed(revoked), t.track)).toEqual(typed(revoked));

    expect(calls).toBe(1);
    expect(t.unverified()).toBe(2);
    const warning = logs.entries().find((e) => e.level === 'warn');
    expect(String(warning?.message)).toContain('does not let the connector read indicators');
  });

  it('without a lookup (ANOMALI_REVOKE_UNKNOWN, or a dry run) sends every revocation as it is', async () => {
    const filter = new RevocationFilter(null, captureLogs().logger);
    const revoked = [indicator(1, { revoked: true })];
    const t = tracker();

    expect(await filter.keep(typed(revoked), t.track)).toEqual(typed(revoked));
    expect(t.unverified()).toBe(0);
    expect(t.skipped).toEqual([]);
  });
});
