import { pageCursor } from '../../src/threatstream/page';
import { intelRecord } from '../support/threatstream-fixtures';

describe('pageCursor', () => {
  test('is the greatest update_id of the page, compared as a number', () => {
    const objects = [intelRecord(9), intelRecord(12), intelRecord(10)];
    expect(pageCursor(objects, '5')).toEqual({ cursor: '12', advanced: true });
  });

  test('compares update_ids beyond 2^53 exactly', () => {
    const big = '9007199254740995';
    const objects = [intelRecord(big), intelRecord('9007199254740993')];
    expect(pageCursor(objects, null)).toEqual({ cursor: big, advanced: true });
  });

  test('never goes below the cursor sent, and says when it did not move', () => {
    expect(pageCursor([intelRecord(5), intelRecord(3)], '5')).toEqual({
      cursor: '5',
      advanced: false,
    });
  });

  test('moves past a malformed record whose update_id is readable', () => {
    const objects = [intelRecord(6), { update_id: 8, value: 42 }];
    expect(pageCursor(objects, '5')).toEqual({ cursor: '8', advanced: true });
  });

  test('is null on a cold start page without a readable update_id', () => {
    expect(pageCursor([{ id: 1 }, null], null)).toEqual({ cursor: null, advanced: false });
  });
});
