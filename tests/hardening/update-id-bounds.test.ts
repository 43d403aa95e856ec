import { describe, expect, it } from '@jest/globals';
import { pageCursor } from '../../src/threatstream/page';
import { readUpdateId } from '../../src/threatstream/schema';
import { recordAt } from '../../stand-ins/threatstream/simulator';
import { intelRecord } from '../support/threatstream-fixtures';
import { accepted, rejectedOne } from '../support/records';

/**
 * ThreatStream ids and update_ids are unsigned integers below 2^63, however they are spelled:
 * anything else makes the record malformed, and never moves a cursor past it.
 */

describe('identifiers', () => {
  const base = recordAt(148) as unknown as Record<string, unknown>;

  it.each([
    [0, '0'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    ['0', '0'],
    ['0011', '11'],
    ['9007199254740993', '9007199254740993'],
    ['9223372036854775807', '9223372036854775807'],
    [`${'0'.repeat(29)}7`, '7'],
  ])('reads %j as %j in id and update_id', (value, expected) => {
    const record = accepted({ ...base, id: value, update_id: value });
    expect([record.id, record.update_id]).toEqual([expected, expected]);
    expect(readUpdateId({ update_id: value })).toBe(expected);
  });

  it.each([
    ['2^63 as digits', '9223372036854775808'],
    ['30 significant digits', '9'.repeat(30)],
    ['31 digits, most of them leading zeros', `${'0'.repeat(30)}1`],
    ['a negative number', -1],
    ['a negative digit string', '-1'],
    ['a fraction', 1.5],
    ['a fraction in text', '1.5'],
    ['an exponent', '1e3'],
    ['a number past 2^53', 2 ** 53],
    ['2^63 as a number', 2 ** 63],
    ['infinity', Infinity],
    ['an empty string', ''],
    ['a padded string', ' 1'],
    ['full-width digits', '１'],
    ['a boolean', true],
    ['null', null],
  ])('refuses %s', (_, value) => {
    const badId = rejectedOne({ ...base, id: value });
    expect([badId.id, badId.updateId]).toEqual([null, String(base.update_id)]);
    const badUpdateId = rejectedOne({ ...base, update_id: value });
    expect([badUpdateId.id, badUpdateId.updateId]).toEqual([String(base.id), null]);
    expect(readUpdateId({ update_id: value })).toBeNull();
  });

  it('says why a digit string at 2^63 is refused', () => {
    expect(rejectedOne({ ...base, id: '9223372036854775808' }).detail).toBe(
      'id: must be below 2^63',
    );
  });

  it('refuses forty million digits', () => {
    const huge = '9'.repeat(40_000_000);
    expect(readUpdateId({ update_id: huge })).toBeNull();
    expect(rejectedOne({ ...base, id: huge }).id).toBeNull();
  });
});

describe('pageCursor', () => {
  it('moves past update_ids below 2^63 only: larger ones make their record malformed', () => {
    const objects = [intelRecord('9223372036854775807'), intelRecord('9223372036854775808')];
    expect(pageCursor(objects, '5').cursor).toBe('9223372036854775807');
    expect(pageCursor([intelRecord('9'.repeat(30))], '5')).toEqual({
      cursor: '5',
      advanced: false,
    });
  });
});
