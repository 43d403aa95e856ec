import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { convertRecord } from '../../src/stix/convert';
import { indicatorId } from '../../src/stix/ids';
import { escapePatternValue } from '../../src/stix/pattern';
import { indicatorSchema } from '../../src/stix/types';
import { OPTIONS, record } from './records';

/** Reads back the inside of a quoted STIX string; throws on a bare quote or an unknown escape. */
function unescapePatternValue(escaped: string): string {
  let value = '';
  for (let index = 0; index < escaped.length; index++) {
    const character = escaped.charAt(index);
    if (character === "'") throw new Error(`bare quote at ${index}`);
    if (character !== '\\') {
      value += character;
      continue;
    }
    const next = escaped.charAt(++index);
    if (next !== '\\' && next !== "'") throw new Error(`unknown escape \\${next} at ${index}`);
    value += next;
  }
  return value;
}

/** Characters that stress escaping, trimming, lower-casing and validation. */
const trickyCharacter = fc.constantFrom(
  'a',
  'Z',
  '0',
  '.',
  '-',
  '_',
  '@',
  '/',
  ':',
  "'",
  '\\',
  '"',
  ' ',
  '\t',
  '\u00a0',
  'é',
  'İ',
  'ß',
  '😀',
  '\u0000',
  '\u001f',
  '\u007f',
  '\ud800',
);

const value = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: trickyCharacter, maxLength: 40 }),
  fc.domain(),
  fc.emailAddress(),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc
    .tuple(
      fc.string({ unit: trickyCharacter, maxLength: 6 }),
      fc.domain(),
      fc.string({ unit: trickyCharacter, maxLength: 6 }),
    )
    .map(([before, domain, after]) => `${before}${domain}${after}`),
  fc
    .tuple(fc.string({ unit: trickyCharacter, minLength: 1, maxLength: 6 }), fc.emailAddress())
    .map(([prefix, address]) => `${prefix}${address}`),
);

const cases = [
  { type: 'url', path: 'url:value', expected: (raw: string) => raw.trim() },
  { type: 'email', path: 'email-addr:value', expected: (raw: string) => raw.trim() },
  {
    type: 'domain',
    path: 'domain-name:value',
    expected: (raw: string) => raw.trim().toLowerCase(),
  },
];

describe('convertRecord on arbitrary values', () => {
  it.each(cases)(
    'turns any $type value into a skip or a faithful, stable pattern',
    ({ type, path, expected }) => {
      let converted = 0;
      fc.assert(
        fc.property(value, (raw) => {
          const source = record({ type, value: raw, itype: null });
          const result = convertRecord(source, OPTIONS);
          if (!result.ok) {
            expect(result.reason).toBe('invalid_value');
            return;
          }
          converted++;
          const { pattern } = result.indicator;
          const prefix = `[${path} = '`;
          expect(pattern.startsWith(prefix) && pattern.endsWith("']")).toBe(true);
          expect(unescapePatternValue(pattern.slice(prefix.length, -2))).toBe(expected(raw));
          expect(result.indicator.name).toBe(expected(raw));
          expect(result.indicator.id).toBe(indicatorId(pattern));
          expect(convertRecord(source, OPTIONS)).toEqual(result);
          expect(indicatorSchema.safeParse(result.indicator).error?.issues).toBeUndefined();
        }),
        { numRuns: 1000 },
      );
      // The generators must reach the indicator branch, or the property proves nothing.
      expect(converted).toBeGreaterThan(100);
    },
  );

  it('escapes any string so that it reads back unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: trickyCharacter }), (a, b) => {
        expect(unescapePatternValue(escapePatternValue(a))).toBe(a);
        expect(unescapePatternValue(escapePatternValue(b))).toBe(b);
      }),
    );
  });
});
