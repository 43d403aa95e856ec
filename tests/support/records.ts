import { expect } from '@jest/globals';
import { parseRecords, type IntelligenceRecord } from '../../src/threatstream/schema';

/** The one record parseRecords accepts from `object`; fails the test if it rejects it. */
export function accepted(object: unknown): IntelligenceRecord {
  const { records, rejected } = parseRecords([object]);
  expect(rejected).toEqual([]);
  return records[0]!;
}

/** The one rejection parseRecords makes of `object`; fails the test if it accepts it. */
export function rejectedOne(object: unknown) {
  const { records, rejected } = parseRecords([object]);
  expect(records).toEqual([]);
  expect(rejected).toHaveLength(1);
  return rejected[0]!;
}
