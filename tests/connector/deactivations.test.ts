import { describe, expect, it } from '@jest/globals';
import { WaitingDeactivations, type PageIndicator } from '../../src/connector/deactivations';
import type { Indicator } from '../../src/stix/types';

const NOW = new Date('2026-03-01T12:00:00.000Z');

function entry(
  n: number,
  updateId: number | bigint,
  overrides: Partial<Indicator> = {},
): PageIndicator {
  const indicator = {
    id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    revoked: false,
    valid_until: '2027-01-01T00:00:00.000Z',
    ...overrides,
  } as Indicator;
  return { indicator, updateId: BigInt(updateId) };
}

const revoked = { revoked: true };
const ip = (indicators: Indicator[]) => indicators.map((indicator) => ({ type: 'ip', indicator }));
const expired = { valid_until: '2026-02-01T00:00:00.000Z' };

describe('WaitingDeactivations', () => {
  it('lets live indicators through and holds revoked and expired ones', () => {
    const waiting = new WaitingDeactivations(() => NOW);
    const live = entry(1, 10);
    const noExpiry = entry(4, 13, { valid_until: undefined });

    const passed = waiting.admit('ip', [
      live,
      entry(2, 11, revoked),
      entry(3, 12, expired),
      noExpiry,
    ]);

    expect(passed).toEqual([live.indicator, noExpiry.indicator]);
    expect(waiting.size).toBe(2);
  });

  it('drops a waiting deactivation once a newer record makes the indicator live again', () => {
    const waiting = new WaitingDeactivations(() => NOW);
    waiting.admit('ip', [entry(1, 10, revoked)]);
    const again = entry(1, 20);

    expect(waiting.admit('ip', [again])).toEqual([again.indicator]);
    expect(waiting.size).toBe(0);
  });

  it('keeps one deactivation per indicator, the newest', () => {
    const waiting = new WaitingDeactivations(() => NOW);
    waiting.admit('ip', [entry(1, 10, revoked), entry(2, 11, revoked)]);
    const newer = entry(1, 30, expired);
    waiting.admit('ip', [newer]);

    expect(waiting.take()).toEqual(ip([entry(2, 11, revoked).indicator, newer.indicator]));
  });

  it('takes the first ones in the order they came, and every one by default', () => {
    const waiting = new WaitingDeactivations(() => NOW);
    const entries = [1, 2, 3, 4, 5].map((n) => entry(n, n, revoked));
    waiting.admit('ip', entries);

    expect(waiting.take(2)).toEqual(ip(entries.slice(0, 2).map((e) => e.indicator)));
    expect(waiting.take()).toEqual(ip(entries.slice(2).map((e) => e.indicator)));
    expect(waiting.size).toBe(0);
  });

  it("keeps a type's cursor below its first deactivation still waiting", () => {
    const waiting = new WaitingDeactivations(() => NOW);
    expect(waiting.cursorAfter('ip', '500')).toBe('500');

    waiting.admit('ip', [entry(1, 120, revoked), entry(2, 101, revoked), entry(3, 130)]);
    waiting.admit('domain', [entry(5, 50, revoked)]);
    expect(waiting.cursorAfter('ip', '140')).toBe('100');
    expect(waiting.cursorAfter('ip', '90')).toBe('90');
    expect(waiting.cursorAfter('domain', '60')).toBe('49');
    expect(waiting.cursorAfter('url', '60')).toBe('60');
    expect([waiting.holds('ip'), waiting.holds('domain'), waiting.holds('url')]).toEqual([
      true,
      true,
      false,
    ]);
    // Past 2^53: compared and decremented exactly.
    waiting.take();
    waiting.admit('ip', [entry(4, 9_007_199_254_740_995n, revoked)]);
    expect(waiting.cursorAfter('ip', '9007199254740999')).toBe('9007199254740994');
  });

  it('takes deactivations of several types in the order they came, each with its type', () => {
    const waiting = new WaitingDeactivations(() => NOW);
    const first = entry(1, 10, revoked);
    const second = entry(2, 5, revoked);
    waiting.admit('domain', [first]);
    waiting.admit('url', [second]);

    expect(waiting.take()).toEqual([
      { type: 'domain', indicator: first.indicator },
      { type: 'url', indicator: second.indicator },
    ]);
  });
});
