import { expect } from '@jest/globals';
import { authorIdentity } from '../../src/stix/author';
import { convertRecord, type ConvertOptions, type ConvertResult } from '../../src/stix/convert';
import { indicatorSchema, type Indicator } from '../../src/stix/types';
import type { IntelligenceRecord } from '../../src/threatstream/schema';

export const AUTHOR = authorIdentity('Anomali ThreatStream');

export const OPTIONS: ConvertOptions = {
  author: AUTHOR,
  defaultTlp: 'amber',
  createObservables: true,
  uiUrl: 'https://ui.threatstream.com/',
};

/** An active, well-formed c2 IP record; tests override what they are about. */
export function record(overrides: Partial<IntelligenceRecord> = {}): IntelligenceRecord {
  return {
    id: '1001',
    update_id: '5001',
    value: '1.2.3.4',
    type: 'ip',
    subtype: null,
    itype: 'c2_ip',
    threat_type: 'c2',
    status: 'active',
    confidence: 80,
    meta: { severity: 'high' },
    tags: null,
    tlp: null,
    source: 'Analyst',
    description: null,
    created_ts: '2024-03-01T10:00:00.000Z',
    modified_ts: '2024-03-02T10:00:00.000Z',
    expiration_ts: '2024-06-01T10:00:00.000Z',
    ...overrides,
  };
}

export function expectValidIndicator(indicator: Indicator): void {
  expect(indicatorSchema.safeParse(indicator).error?.issues).toBeUndefined();
}

/** Converts a record that must convert, and checks the result against the indicator schema. */
export function converted(
  source: IntelligenceRecord,
  options: ConvertOptions = OPTIONS,
): Extract<ConvertResult, { ok: true }> {
  const result = convertRecord(source, options);
  if (!result.ok) throw new Error(`expected a conversion, got ${result.reason}: ${result.detail}`);
  expectValidIndicator(result.indicator);
  return result;
}

export function indicatorOf(
  source: IntelligenceRecord,
  options: ConvertOptions = OPTIONS,
): Indicator {
  return converted(source, options).indicator;
}
