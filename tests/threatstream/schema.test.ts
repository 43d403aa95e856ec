import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import fixture from '../fixtures/threatstream-samples.json';
import {
  intelligenceRecordSchema,
  parseRecords,
  readUpdateId,
  type IntelligenceRecord,
} from '../../src/threatstream/schema';
import { recordAt } from '../../stand-ins/threatstream/simulator';
import { accepted, rejectedOne } from '../support/records';

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

const FIELDS = Object.keys(intelligenceRecordSchema.shape);
/** Fields kept exactly as ThreatStream sends them in its usual shape. */
const VERBATIM_FIELDS = [
  'value',
  'type',
  'subtype',
  'itype',
  'threat_type',
  'status',
  'confidence',
  'tlp',
  'source',
  'description',
  'created_ts',
  'modified_ts',
  'expiration_ts',
];
const DECORATIVE_FIELDS = [
  'subtype',
  'itype',
  'threat_type',
  'confidence',
  'meta',
  'tags',
  'tlp',
  'source',
  'description',
  'expiration_ts',
];

const samples = fixture.samples.map((entry) => entry.object as Record<string, unknown>);
const simulated = Array.from(
  { length: 500 },
  (_, index) => recordAt(index * 37) as unknown as Record<string, unknown>,
);
const usualRecord = fc.constantFrom(...samples, ...simulated);

/** What the schema keeps of a tag list in ThreatStream's usual shape. */
function expectedTags(tags: unknown): unknown {
  if (!Array.isArray(tags)) return tags;
  return tags.map((tag: unknown) =>
    typeof tag === 'string'
      ? { name: tag }
      : tag === null
        ? null
        : { name: (tag as { name: string }).name },
  );
}

describe('parseRecords on records in the usual shape', () => {
  it('accepts every sample and simulated record, with the schema fields in schema order', () => {
    for (const object of [...samples, ...simulated]) {
      const record = accepted(object);
      expect(Reflect.ownKeys(record)).toEqual(FIELDS);
      expect(record.id).toBe(String(object.id));
      expect(record.update_id).toBe(String(object.update_id));
      for (const field of VERBATIM_FIELDS) {
        expect(record[field as keyof IntelligenceRecord]).toBe(object[field]);
      }
      expect(record.tags).toEqual(expectedTags(object.tags));
      expect(layout(accepted(JSON.parse(JSON.stringify(object))))).toEqual(layout(record));
    }
  });

  it('keeps only the four meta fields it uses', () => {
    const base = simulated[3]!;
    const record = accepted({
      ...base,
      meta: { severity: 'high', detail: 'd', detail2: null, maltype: 7, registrant: 'x' },
    });
    expect(layout(record.meta)).toEqual(
      layout({ severity: 'high', detail: 'd', detail2: null, maltype: undefined }),
    );
  });

  it('keeps only the schema fields, whatever else a record carries', () => {
    const base = simulated[0]!;
    const own__proto__ = JSON.parse(
      `{"__proto__": {"polluted": true}, ${JSON.stringify(base).slice(1)}`,
    ) as unknown;
    const withSymbol = { ...base, [Symbol('s')]: 1 };
    expect(Object.keys(base).length).toBeGreaterThan(FIELDS.length);
    for (const object of [own__proto__, withSymbol]) {
      expect(layout(accepted(object))).toEqual(layout(accepted(base)));
    }
  });

  it('gives the same result once Object.prototype is polluted', () => {
    const expected = layout(accepted(simulated[2]));
    const prototype = Object.prototype as Record<string, unknown>;
    prototype.polluted = 'yes';
    try {
      const [record] = parseRecords([simulated[2]]).records;
      expect(Reflect.ownKeys(record!)).toEqual(FIELDS);
      expect(layout(record)).toEqual(expected);
    } finally {
      delete prototype.polluted;
    }
  });
});

describe('parseRecords on unusual values', () => {
  const base = simulated[0]!;

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'record'],
    ['a number', 42],
    ['an array holding a record', [base]],
    ['a negative id', { ...base, id: -1 }],
    ['an update_id past 2^53', { ...base, update_id: 2 ** 53 }],
    ['a value that is not text', { ...base, value: 7 }],
    ['a missing status', { ...base, status: undefined }],
  ])('rejects %s', (_, object) => {
    expect(rejectedOne(object).reason).toBe('malformed_record');
  });

  it('reads a record without Object.prototype, or made by a class, like a plain one', () => {
    const nullPrototype = Object.assign(Object.create(null) as object, base);
    class Record {
      constructor() {
        Object.assign(this, base);
      }
    }
    for (const object of [nullPrototype, new Record()]) {
      expect(layout(accepted(object))).toEqual(layout(accepted(base)));
    }
  });

  it.each([
    ['confidence', Infinity, undefined],
    ['confidence', '80', undefined],
    ['meta', ['not', 'an', 'object'], undefined],
    ['tags', 'emotet', undefined],
    ['tags', [{ name: 7 }], [null]],
    ['tags', [1, 'a', { name: 'b', id: 3 }, null], [null, { name: 'a' }, { name: 'b' }, null]],
    ['tlp', 3, undefined],
    ['expiration_ts', { at: 'never' }, undefined],
  ])('reads a decorative %s of %p as %p', (field, value, expected) => {
    const record = accepted({ ...base, [field]: value });
    expect(record[field as keyof IntelligenceRecord]).toEqual(expected);
    expect(Reflect.ownKeys(record)).toEqual(FIELDS);
  });

  it('reports rejections with their ids and a readable reason', () => {
    const other = simulated[1]!;
    const { records, rejected } = parseRecords([
      other,
      { ...other, value: 7 },
      { id: '12', update_id: 'x' },
      null,
    ]);
    expect(records).toHaveLength(1);
    expect(rejected.map((r) => [r.id, r.updateId, r.reason])).toEqual([
      [String(other.id), String(other.update_id), 'malformed_record'],
      ['12', null, 'malformed_record'],
      [null, null, 'malformed_record'],
    ]);
    expect(rejected[0]!.detail).toMatch(/^value: /);
    expect(rejected[2]!.detail).toMatch(/^\(record\): /);
  });
});

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

/** A usual record with some of `fields` replaced, some removed, and some keys added. */
function hostileRecord(fields: readonly string[]) {
  return fc
    .record({
      base: usualRecord,
      replaced: fc.dictionary(fc.constantFrom(...fields), anyValue, { maxKeys: 3 }),
      meta: fc.option(metaValue, { nil: undefined }),
      tags: fc.option(tagValue, { nil: undefined }),
      removed: fc.oneof(
        { weight: 3, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.subarray([...fields], { maxLength: 2 }) },
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
}

const isTextOrAbsent = (value: unknown) =>
  value === undefined || value === null || typeof value === 'string';

describe('parseRecords on hostile records', () => {
  it('falls back to absent for decorative fields of the wrong shape, never rejecting', () => {
    fc.assert(
      fc.property(hostileRecord(DECORATIVE_FIELDS), (object) => {
        const record = accepted(object);
        for (const field of ['subtype', 'itype', 'threat_type', 'tlp', 'source', 'description']) {
          expect(isTextOrAbsent(record[field as keyof IntelligenceRecord])).toBe(true);
        }
        expect(isTextOrAbsent(record.expiration_ts)).toBe(true);
        const { confidence, tags, meta } = record;
        expect(confidence == null || Number.isFinite(confidence)).toBe(true);
        for (const tag of tags ?? [])
          expect(tag === null || typeof tag.name === 'string').toBe(true);
        for (const text of Object.values(meta ?? {})) expect(isTextOrAbsent(text)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts or rejects each record, with readable ids and the schema fields only', () => {
    let acceptedCount = 0;
    let rejectedCount = 0;
    fc.assert(
      fc.property(hostileRecord(FIELDS), (object) => {
        const { records, rejected } = parseRecords([object]);
        expect(records.length + rejected.length).toBe(1);
        for (const record of records) {
          acceptedCount++;
          const keys = Reflect.ownKeys(record);
          expect(FIELDS.filter((field) => keys.includes(field))).toEqual(keys);
          for (const id of [record.id, record.update_id]) expectCanonicalId(id);
        }
        for (const rejection of rejected) {
          rejectedCount++;
          expect(rejection.reason).toBe('malformed_record');
          expect(rejection.updateId).toBe(readUpdateId(object));
          expect(rejection.detail.length).toBeGreaterThan(0);
          expect(rejection.detail.length).toBeLessThanOrEqual(500);
        }
      }),
      { numRuns: 3000 },
    );
    // Enough generated records of either kind for both checks to be exercised.
    expect(acceptedCount).toBeGreaterThan(100);
    expect(rejectedCount).toBeGreaterThan(100);
  });
});

/** A decimal without leading zeros, below 2^63. */
function expectCanonicalId(id: string): void {
  expect(id).toMatch(/^(0|[1-9]\d*)$/);
  expect(BigInt(id) < 2n ** 63n).toBe(true);
}

describe('readUpdateId', () => {
  it('reads the update_id of an object that is not a valid record', () => {
    expect(readUpdateId({ update_id: '0012', value: 7 })).toBe('12');
    expect(readUpdateId({ update_id: 12 })).toBe('12');
  });

  it('gives null when there is no update_id to read', () => {
    for (const object of [null, undefined, 'text', 42, [], {}, { update_id: 'x' }]) {
      expect(readUpdateId(object)).toBeNull();
    }
  });
});
