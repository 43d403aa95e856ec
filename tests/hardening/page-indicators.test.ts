import { describe, expect, it } from '@jest/globals';
import { indicatorsOf } from '../../src/connector/page-indicators';
import { authorIdentity } from '../../src/stix/author';
import { parseRecords } from '../../src/threatstream/schema';
import { captureLogs } from '../support/capture';

const OPTIONS = {
  author: authorIdentity('Anomali ThreatStream'),
  defaultTlp: 'amber' as const,
  createObservables: true,
  uiUrl: 'https://ui.threatstream.com',
};

function record(updateId: number, overrides: Record<string, unknown> = {}) {
  return {
    id: 1000 + updateId,
    update_id: updateId,
    value: '192.0.2.1',
    type: 'ip',
    status: 'active',
    confidence: 10,
    created_ts: '2026-02-01T00:00:00.000Z',
    modified_ts: '2026-02-02T00:00:00.000Z',
    ...overrides,
  };
}

function convert(raws: Record<string, unknown>[]) {
  const { records, rejected } = parseRecords(raws);
  const counts = { fetched: 0, skipped: [] as string[], truncated: 0 };
  const track = {
    fetched: (_type: string, n: number) => void (counts.fetched += n),
    skipped: (_type: string, reason: string) => void counts.skipped.push(reason),
    truncated: () => void counts.truncated++,
  };
  const page = { records, rejected, cursor: '0', hasMore: false };
  return { indicators: indicatorsOf('ip', page, OPTIONS, track, captureLogs().logger), counts };
}

describe('indicatorsOf', () => {
  it('collapses records of one indicator to the newest update_id, wherever it stands', () => {
    const { indicators } = convert([
      record(9, { confidence: 90, status: 'inactive' }),
      record(3, { value: '192.0.2.2' }),
      record(5, { confidence: 10 }),
    ]);
    expect(
      indicators.map(({ indicator: i, updateId }) => [
        i.name,
        i.revoked,
        i.x_opencti_score,
        updateId,
      ]),
    ).toEqual([
      ['192.0.2.1', true, 90, 9n],
      ['192.0.2.2', false, 10, 3n],
    ]);
  });

  it('counts every record as fetched and each one that cannot convert as skipped', () => {
    const { indicators, counts } = convert([
      record(1),
      record(2, { value: 'not an ip' }),
      { id: 7, update_id: 3 },
    ]);
    expect(indicators).toHaveLength(1);
    expect(counts.fetched).toBe(3);
    expect(counts.skipped.sort()).toEqual(['invalid_value', 'malformed_record']);
  });

  it('counts a record whose description or labels were cut', () => {
    const tags = Array.from({ length: 300 }, (_, i) => ({ name: `tag-${i}` }));
    const { indicators, counts } = convert([
      record(1, { tags }),
      record(2, { value: '192.0.2.9' }),
    ]);
    expect(indicators).toHaveLength(2);
    expect(counts.truncated).toBe(1);
  });
});
