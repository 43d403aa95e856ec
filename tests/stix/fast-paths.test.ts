import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { uuidv5, OASIS_NAMESPACE, indicatorId, canonicalJson } from '../../src/stix/ids';
import {
  EARLIEST_TIMESTAMP,
  LATEST_TIMESTAMP,
  parseTimestamp,
  stixTimestamp,
} from '../../src/stix/timestamps';

/**
 * Timestamps and ids are computed without Date objects, regular expressions or streaming hashes
 * where that is cheaper; these tests hold each shortcut to the plain computation it replaces.
 */

/** RFC 9562 version 5 UUID, computed the straightforward way. */
function referenceUuidv5(name: string, namespace: string): string {
  const digest = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const instant = fc.integer({ min: EARLIEST_TIMESTAMP, max: LATEST_TIMESTAMP });

describe('stixTimestamp', () => {
  it('writes what Date.prototype.toISOString writes, over years 0000-9999', () => {
    fc.assert(
      fc.property(instant, (millis) => {
        expect(stixTimestamp(millis)).toBe(new Date(millis).toISOString());
      }),
      { numRuns: 20_000 },
    );
    for (const millis of [EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, 0, -1, 951_782_400_000]) {
      expect(stixTimestamp(millis)).toBe(new Date(millis).toISOString());
    }
  });

  it('writes each of a run of instants right, whether or not they share a day', () => {
    const DAY = 86_400_000;
    fc.assert(
      fc.property(
        fc.integer({ min: EARLIEST_TIMESTAMP + 2 * DAY, max: LATEST_TIMESTAMP - 2 * DAY }),
        fc.array(fc.integer({ min: -2 * DAY, max: 2 * DAY }), { minLength: 2, maxLength: 20 }),
        (start, offsets) => {
          for (const millis of offsets.map((offset) => start + offset)) {
            expect(stixTimestamp(millis)).toBe(new Date(millis).toISOString());
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('leaves instants outside STIX to toISOString', () => {
    expect(stixTimestamp(LATEST_TIMESTAMP + 1)).toBe(new Date(LATEST_TIMESTAMP + 1).toISOString());
    expect(stixTimestamp(0.5)).toBe(new Date(0.5).toISOString());
  });
});

describe('parseTimestamp on the canonical shape', () => {
  it('reads what it writes', () => {
    fc.assert(
      fc.property(instant, (millis) => {
        expect(parseTimestamp(stixTimestamp(millis))).toBe(millis);
      }),
      { numRuns: 20_000 },
    );
  });

  it('refuses exactly the dates and times that do not exist', () => {
    const digits = (length: number) =>
      fc.integer({ min: 0, max: 10 ** length - 1 }).map((n) => String(n).padStart(length, '0'));
    const canonical = fc
      .tuple(
        fc.constantFrom('0000', '0099', '0100', '1900', '2000', '2023', '2024', '9999'),
        digits(2),
        digits(2),
        digits(2),
        digits(2),
        digits(2),
        digits(3),
      )
      .map(([y, mo, d, h, mi, s, ms]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
    fc.assert(
      fc.property(canonical, (text) => {
        // A real instant round-trips through toISOString; a rolled-over one does not.
        const millis = Date.parse(text);
        const exists = !Number.isNaN(millis) && new Date(millis).toISOString() === text;
        expect(parseTimestamp(text)).toBe(exists ? millis : undefined);
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('uuidv5 and indicatorId', () => {
  it('match the streaming-hash computation and the generic canonical JSON', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (pattern) => {
        expect(uuidv5(pattern, OASIS_NAMESPACE)).toBe(referenceUuidv5(pattern, OASIS_NAMESPACE));
        const canonical = canonicalJson({ pattern: pattern.trim() });
        expect(indicatorId(pattern)).toBe(
          `indicator--${referenceUuidv5(canonical, OASIS_NAMESPACE)}`,
        );
      }),
      { numRuns: 5_000 },
    );
  });
});
