import { pageCursor, pageHint } from '../../src/threatstream/page';
import { intelRecord, NEXT_LINK, pageBody } from '../support/threatstream-fixtures';

const text = (objects: unknown[], next: string | null = NEXT_LINK) =>
  JSON.stringify(pageBody(objects, next));

describe('pageHint', () => {
  it('names the cursor pageCursor gives, read from the raw text', () => {
    const objects = [intelRecord(7), intelRecord('12'), intelRecord(9), intelRecord('0011')];
    expect(pageHint(text(objects), '5')).toBe('12');
    expect(pageCursor(objects, '5').cursor).toBe('12');
  });

  it('compares update_ids as numbers, beyond 2^53 too', () => {
    const big = '90071992547409930';
    expect(pageHint(text([intelRecord(big), intelRecord('9007199254740993')]), null)).toBe(big);
  });

  it('reads spaced JSON as ThreatStream may write it', () => {
    const spaced = JSON.stringify(pageBody([intelRecord(40), intelRecord(41)], NEXT_LINK), null, 2);
    expect(pageHint(spaced, '1')).toBe('41');
  });

  it('guesses nothing when meta announces no more pages', () => {
    expect(pageHint(text([intelRecord(7)], null), '5')).toBeNull();
  });

  it('guesses nothing without a next key, an update_id, or a cursor that moves', () => {
    expect(pageHint('<html>Bad gateway</html>', '5')).toBeNull();
    expect(pageHint(text([]), '5')).toBeNull();
    expect(pageHint(text([intelRecord(5), intelRecord(3)]), '5')).toBeNull();
  });

  it('reads a truncated page too: the parsed page decides whether the guess is kept', () => {
    const full = text([intelRecord(7), intelRecord(8)]);
    expect(pageHint(full.slice(0, full.lastIndexOf('"update_id"') - 1), '5')).toBe('7');
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
