import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  EARLIEST_TIMESTAMP,
  LATEST_TIMESTAMP,
  parseTimestamp,
  readTimestamp,
  stixTimestamp,
} from '../../src/stix/timestamps';
import { stixTimestampSchema } from '../../src/stix/types';

function normalised(text: string | null | undefined): string | undefined {
  const millis = parseTimestamp(text);
  return millis === undefined ? undefined : stixTimestamp(millis);
}

describe('parseTimestamp', () => {
  it.each([
    ['2021-05-24T16:42:25.457Z', '2021-05-24T16:42:25.457Z'],
    ['2021-05-24T16:42:25Z', '2021-05-24T16:42:25.000Z'],
    ['2021-05-24t16:42:25z', '2021-05-24T16:42:25.000Z'],
    ['2021-05-24T16:42:25', '2021-05-24T16:42:25.000Z'],
    ['2021-05-24 16:42:25', '2021-05-24T16:42:25.000Z'],
    ['2021-05-24T16:42', '2021-05-24T16:42:00.000Z'],
    ['2021-05-24', '2021-05-24T00:00:00.000Z'],
    ['2021-05-24T16:42:25.4', '2021-05-24T16:42:25.400Z'],
    ['2021-05-24T16:42:25.457999999Z', '2021-05-24T16:42:25.457Z'],
    ['2021-05-24T16:42:25,5Z', '2021-05-24T16:42:25.500Z'],
    ['2021-05-24T18:42:25+02:00', '2021-05-24T16:42:25.000Z'],
    ['2021-05-24T18:42:25+0200', '2021-05-24T16:42:25.000Z'],
    ['2021-05-24T18:42:25+02', '2021-05-24T16:42:25.000Z'],
    ['2021-05-24T11:12:25-05:30', '2021-05-24T16:42:25.000Z'],
    ['2021-05-25T00:30:00+01:00', '2021-05-24T23:30:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0000-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'],
    ['0099-06-15T00:00:00Z', '0099-06-15T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['  2021-05-24T16:42:25Z\n', '2021-05-24T16:42:25.000Z'],
  ])('reads %j as %s', (text, expected) => {
    expect(normalised(text)).toBe(expected);
  });

  it.each([
    null,
    undefined,
    '',
    'never',
    '1621874545457',
    '2021-5-24T16:42:25Z',
    '21-05-24T16:42:25Z',
    '2021-05-24T16:42:25.Z',
    '2021-05-24T16:42:25.1234567890Z',
    '2021-05-24T16:42:25+2:00',
    '2021-05-24T16:42:25 +02:00',
    '2021-05-24Z',
    '2021-W21-1',
    '2021-13-01T00:00:00Z',
    '2021-00-01T00:00:00Z',
    '2021-02-29T00:00:00Z',
    '2021-04-31T00:00:00Z',
    '2021-05-00T00:00:00Z',
    '2021-05-24T24:00:00Z',
    '2021-05-24T23:60:00Z',
    '2016-12-31T23:59:60Z',
    '2021-05-24T16:42:25+24:00',
    '2021-05-24T16:42:25+01:60',
    '+010000-01-01T00:00:00Z',
    '-000001-01-01T00:00:00Z',
    '9999-12-31T23:00:00-05:00',
    '0000-01-01T00:30:00+01:00',
  ])('does not read %j', (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });

  it('spans exactly the four-digit years', () => {
    expect(stixTimestamp(EARLIEST_TIMESTAMP)).toBe('0000-01-01T00:00:00.000Z');
    expect(stixTimestamp(LATEST_TIMESTAMP)).toBe('9999-12-31T23:59:59.999Z');
  });
});

const instant = fc.integer({ min: EARLIEST_TIMESTAMP, max: LATEST_TIMESTAMP });

describe('stixTimestamp', () => {
  it.each([
    [0, '1970-01-01T00:00:00.000Z'],
    [-1, '1969-12-31T23:59:59.999Z'],
    [951_782_400_000, '2000-02-29T00:00:00.000Z'],
    [1_621_874_545_457, '2021-05-24T16:42:25.457Z'],
    [0.5, '1970-01-01T00:00:00.000Z'],
  ])('writes %d as %s', (millis, expected) => {
    expect(stixTimestamp(millis)).toBe(expected);
  });

  it('writes a STIX timestamp for every instant of years 0000-9999', () => {
    fc.assert(
      fc.property(instant, (millis) => {
        expect(stixTimestampSchema.safeParse(stixTimestamp(millis)).success).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('writes instants past year 9999 in a form STIX refuses', () => {
    const text = stixTimestamp(LATEST_TIMESTAMP + 1);
    expect(text).toBe('+010000-01-01T00:00:00.000Z');
    expect(stixTimestampSchema.safeParse(text).success).toBe(false);
  });
});

describe('parseTimestamp on the canonical shape', () => {
  it('reads what stixTimestamp writes', () => {
    fc.assert(
      fc.property(instant, (millis) => {
        expect(parseTimestamp(stixTimestamp(millis))).toBe(millis);
      }),
      { numRuns: 20_000 },
    );
  });

  const digits = (length: number) =>
    fc.integer({ min: 0, max: 10 ** length - 1 }).map((n) => String(n).padStart(length, '0'));
  /** Every text of the canonical shape, existing instants or not. */
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

  it('refuses exactly the dates and times that do not exist', () => {
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

  it('reads as the general reader does, and keeps the text as its STIX form', () => {
    fc.assert(
      fc.property(canonical, (text) => {
        // `+00:00` is not the canonical shape, so the general reader reads it.
        const general = parseTimestamp(text.replace(/Z$/, '+00:00'));
        expect(readTimestamp(text)).toEqual(
          general === undefined ? undefined : { millis: general, text },
        );
      }),
      { numRuns: 20_000 },
    );
  });
});
