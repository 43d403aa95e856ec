import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import fixture from '../fixtures/threatstream-samples.json';
import {
  intelligenceRecordSchema,
  parseRecords,
  parseUsualRecord,
} from '../../src/threatstream/schema';
import { recordAt } from '../../stand-ins/threatstream/simulator';

/**
 * parseRecords reads records in ThreatStream's usual shape by hand and leaves everything else to
 * the zod schema. These tests hold the hand-written reading to the schema's exact result: same
 * success, same keys in the same order, same values, at every depth.
 */

/** Keys in order and values, recursively, with undefined kept apart from a missing key. */
function layout(value: unknown): unknown {
  if (Array.isArray(value)) return { array: value.map(layout) };
  if (value !== null && typeof value === 'object') {
    return {
      prototype: Object.getPrototypeOf(value) === Object.prototype ? 'Object' : 'other',
      entries: Reflect.ownKeys(value).map((key) => [
        String(key),
        layout((value as Record<PropertyKey, unknown>)[key]),
      ]),
    };
  }
  if (value === undefined) return { undefined: true };
  if (typeof value === 'number' && Object.is(value, -0)) return { negativeZero: true };
  return value;
}

/** The fast path either steps aside or gives exactly what the schema gives. */
function expectSchemaResult(object: unknown): boolean {
  const usual = parseUsualRecord(object);
  if (usual === undefined) return false;
  const parsed = intelligenceRecordSchema.safeParse(object);
  expect(parsed.success).toBe(true);
  expect(layout(usual)).toEqual(layout(parsed.data));
  return true;
}

const samples = fixture.samples.map((entry) => entry.object as Record<string, unknown>);
const simulated = Array.from({ length: 500 }, (_, index) => recordAt(index * 37));
const usualRecord = fc.constantFrom(...samples, ...simulated);

/** Values of every JSON type and a few that JSON cannot carry. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', '0', '007', '9'.repeat(30), '9'.repeat(31), '-1', ' 1', '1.5', '１'),
  fc.integer(),
  fc.constantFrom(0, -0, -1, 1.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1),
  fc.constantFrom(NaN, Infinity, -Infinity),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt({ min: -10n, max: 10n }),
  fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.constant(null)), {
    maxLength: 3,
  }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 4 }), fc.integer())),
  fc.constant(Object.create(null) as unknown),
  fc.constant(new Date(0) as unknown),
);

const metaValue = fc.oneof(
  anyValue,
  fc.dictionary(fc.constantFrom('severity', 'detail', 'detail2', 'maltype', 'x', '0'), anyValue),
);

const tagValue = fc.oneof(
  anyValue,
  fc.array(
    fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constant(null),
      fc.record({ name: anyValue }),
      fc.record({ name: fc.string({ maxLength: 8 }), id: anyValue }),
      anyValue,
    ),
    { maxLength: 4 },
  ),
);

const FIELDS = Object.keys(intelligenceRecordSchema.shape);

/** A usual record with some fields replaced, some removed and some added. */
const hostileRecord = fc
  .record({
    base: usualRecord,
    replaced: fc.dictionary(fc.constantFrom(...FIELDS), anyValue, { maxKeys: 3 }),
    meta: fc.option(metaValue, { nil: undefined }),
    tags: fc.option(tagValue, { nil: undefined }),
    removed: fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.subarray(FIELDS, { maxLength: 2 }) },
    ),
    added: fc.dictionary(
      fc.constantFrom('extra', 'constructor', 'toString', '0', '10', 'hasOwnProperty'),
      anyValue,
      { maxKeys: 3 },
    ),
  })
  .map(({ base, replaced, meta, tags, removed, added }) => {
    const object: Record<string, unknown> = { ...base, ...replaced, ...added };
    if (meta !== undefined) object.meta = meta;
    if (tags !== undefined) object.tags = tags;
    for (const field of removed) delete object[field];
    return object;
  });

describe('the hand-written reading of usual records', () => {
  it('takes every sample and simulated record and gives exactly the schema result', () => {
    for (const object of [...samples, ...simulated]) {
      expect(expectSchemaResult(object)).toBe(true);
      expect(expectSchemaResult(JSON.parse(JSON.stringify(object)))).toBe(true);
    }
  });

  it('gives the schema result, or steps aside, for records with hostile fields', () => {
    let taken = 0;
    fc.assert(
      fc.property(hostileRecord, (object) => {
        if (expectSchemaResult(object)) taken++;
      }),
      { numRuns: 3000 },
    );
    // Enough generated records keep the usual shape for both paths to be exercised.
    expect(taken).toBeGreaterThan(100);
  });

  it('keeps only the schema fields, whatever else a record carries', () => {
    const base = simulated[0]!;
    const own__proto__ = JSON.parse(
      `{"__proto__": {"polluted": true}, ${JSON.stringify(base).slice(1)}`,
    ) as unknown;
    const withSymbol = { ...base, [Symbol('s')]: 1 };
    for (const object of [base, own__proto__, withSymbol]) {
      expect(expectSchemaResult(object)).toBe(true);
      expect(Reflect.ownKeys(parseUsualRecord(object)!)).toEqual(FIELDS);
    }
    expect(Object.keys(base).length).toBeGreaterThan(FIELDS.length);
  });

  it('steps aside for values the schema must judge', () => {
    const base = simulated[0]!;
    const nullPrototype = Object.assign(Object.create(null) as object, base);
    class Record {
      constructor() {
        Object.assign(this, base);
      }
    }
    for (const object of [
      null,
      undefined,
      'record',
      42,
      [base],
      nullPrototype,
      new Record(),
      { ...base, id: -1 },
      { ...base, update_id: 2 ** 53 },
      { ...base, value: 7 },
      { ...base, confidence: Infinity },
      { ...base, meta: ['not', 'an', 'object'] },
      { ...base, tags: 'emotet' },
      { ...base, tags: [{ name: 7 }] },
    ]) {
      expect(parseUsualRecord(object)).toBeUndefined();
    }
  });

  it('leaves rejections to the schema, with the same ids and reasons', () => {
    const base = simulated[1]!;
    const { records, rejected } = parseRecords([
      base,
      { ...base, value: 7 },
      { id: '12', update_id: 'x' },
      null,
      { ...base, tags: [1, 'a', { name: 'b' }, null] },
    ]);
    expect(records).toHaveLength(2);
    expect(layout(records[1])).toEqual(
      layout(intelligenceRecordSchema.parse({ ...base, tags: [1, 'a', { name: 'b' }, null] })),
    );
    expect(rejected.map((r) => [r.id, r.updateId, r.reason])).toEqual([
      [String(base.id), String(base.update_id), 'malformed_record'],
      ['12', null, 'malformed_record'],
      [null, null, 'malformed_record'],
    ]);
    expect(rejected[0]!.detail).toMatch(/^value: /);
  });

  it('leaves records to the schema once Object.prototype is polluted', () => {
    const prototype = Object.prototype as Record<string, unknown>;
    prototype.polluted = 'yes';
    try {
      expect(parseUsualRecord(simulated[2])).toBeUndefined();
      const [record] = parseRecords([simulated[2]]).records;
      expect(Reflect.ownKeys(record!)).toEqual(FIELDS);
    } finally {
      delete prototype.polluted;
    }
  });
});
