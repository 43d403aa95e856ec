import { describe, expect, it } from '@jest/globals';
import { tlpMarking } from '../../src/stix/markings';
import {
  bundleSchema,
  identitySchema,
  indicatorSchema,
  markingDefinitionSchema,
  stixObjectSchema,
} from '../../src/stix/types';
import { AUTHOR, indicatorOf, record } from './records';

const indicator = indicatorOf(record());

describe('indicatorSchema', () => {
  it('accepts what the converter emits', () => {
    expect(indicatorSchema.safeParse(indicator).success).toBe(true);
  });

  it.each<[string, Record<string, unknown>]>([
    ['an unexpected property', { confidence: 80 }],
    ['a timestamp without milliseconds', { created: '2024-03-01T10:00:00Z' }],
    ['a timestamp with an offset', { created: '2024-03-01T10:00:00.000+00:00' }],
    ['an id of another type', { id: 'identity--274128a4-2ad4-50b5-ae7b-b0dea1fa9861' }],
    ['an id without a UUID', { id: 'indicator--1' }],
    [
      'an author that is not an identity',
      { created_by_ref: 'indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861' },
    ],
    ['a score over 100', { x_opencti_score: 101 }],
    ['a fractional score', { x_opencti_score: 50.5 }],
    ['an indicator type outside the vocabulary', { indicator_types: ['ipv4'] }],
    ['an observable type OpenCTI does not know', { x_opencti_main_observable_type: 'File' }],
    ['empty labels', { labels: [] }],
    ['no marking', { object_marking_refs: [] }],
    ['modified before created', { modified: '2024-02-01T00:00:00.000Z' }],
    ['valid_until equal to valid_from', { valid_until: '2024-03-01T10:00:00.000Z' }],
    ['valid_until before valid_from', { valid_until: '2024-02-01T10:00:00.000Z' }],
  ])('rejects %s', (_name, change) => {
    expect(indicatorSchema.safeParse({ ...indicator, ...change }).success).toBe(false);
  });

  it('rejects an indicator missing its pattern', () => {
    expect(indicatorSchema.safeParse({ ...indicator, pattern: undefined }).success).toBe(false);
  });
});

describe('identitySchema and markingDefinitionSchema', () => {
  it('reject unexpected properties', () => {
    expect(identitySchema.safeParse({ ...AUTHOR, description: 'x' }).success).toBe(false);
    expect(
      markingDefinitionSchema.safeParse({ ...tlpMarking('green'), color: '#2e7d32' }).success,
    ).toBe(false);
  });

  it('rejects a TLP level STIX does not define', () => {
    expect(
      markingDefinitionSchema.safeParse({ ...tlpMarking('green'), definition: { tlp: 'purple' } })
        .success,
    ).toBe(false);
  });

  it('tells the object kinds apart by type', () => {
    expect(stixObjectSchema.safeParse(AUTHOR).success).toBe(true);
    expect(stixObjectSchema.safeParse(tlpMarking('amber+strict')).success).toBe(true);
    expect(stixObjectSchema.safeParse({ ...AUTHOR, type: 'malware' }).success).toBe(false);
  });
});

describe('bundleSchema', () => {
  const bundle = {
    type: 'bundle',
    id: 'bundle--6f1a3b2c-1d2e-4f50-8a6b-7c8d9e0f1a2b',
    spec_version: '2.1',
    objects: [AUTHOR, tlpMarking('amber'), indicator],
  };

  it('accepts author, marking and indicators', () => {
    expect(bundleSchema.safeParse(bundle).success).toBe(true);
  });

  it.each<[string, Record<string, unknown>]>([
    ['an empty bundle', { objects: [] }],
    ['a bundle without spec_version', { spec_version: undefined }],
    ['a bundle id of another type', { id: 'report--6f1a3b2c-1d2e-4f50-8a6b-7c8d9e0f1a2b' }],
    ['an object of an unknown type', { objects: [{ type: 'x-custom', id: 'x-custom--1' }] }],
  ])('rejects %s', (_name, change) => {
    expect(bundleSchema.safeParse({ ...bundle, ...change }).success).toBe(false);
  });
});
