import { describe, expect, it } from '@jest/globals';
import { parseState, serializeState } from '../../src/opencti/state';
import { changeKey, cursorAfter, pendingChanges, windowStart } from '../../src/threatmodel/cursor';
import type { ModelSummary } from '../../src/threatstream/model-schema';

const summary = (type: ModelSummary['model_type'], id: string, modified: string): ModelSummary => ({
  id,
  model_type: type,
  name: `${type} ${id}`,
  modified_ts: modified,
  publication_status: 'published',
});

const A = summary('actor', '1', '2024-05-05T08:21:07.118020+00:00');
const B = summary('malware', '2', '2024-05-05T08:21:07.118020+00:00');
const C = summary('tool', '3', '2024-05-05T08:21:07.900000+00:00');
const D = summary('campaign', '4', '2024-05-05T08:21:09.000001+00:00');
const COLD_START = new Date('2024-04-01T00:00:00.000Z');

describe("the threat models' cursor", () => {
  it('starts at the cold-start bound, then at the second of the newest model delivered', () => {
    expect(windowStart(undefined, COLD_START)).toEqual(COLD_START);
    const cursor = cursorAfter(undefined, C);
    expect(cursor.since).toBe('2024-05-05T08:21:07.900Z');
    expect(windowStart(cursor, COLD_START)).toEqual(new Date('2024-05-05T08:21:07.000Z'));
  });

  it('orders the pending changes oldest first and leaves out those already delivered', () => {
    expect(pendingChanges([D, C, B, A], undefined)).toEqual([A, B, C, D]);
    const cursor = cursorAfter(cursorAfter(undefined, A), B);
    expect(pendingChanges([D, C, B, A], cursor)).toEqual([C, D]);
  });

  it('keeps a model that shares the modified_ts of one delivered before it', () => {
    const cursor = cursorAfter(undefined, A);
    expect(pendingChanges([A, B], cursor)).toEqual([B]);
  });

  it('takes a model changed again for a new change', () => {
    const cursor = cursorAfter(undefined, A);
    const again = { ...A, modified_ts: '2024-05-05T08:21:08.000000+00:00' };
    expect(pendingChanges([again], cursor)).toEqual([again]);
  });

  it('remembers only the models of the second it starts from', () => {
    const cursor = [A, B, C, D].reduce(
      cursorAfter,
      undefined as ReturnType<typeof cursorAfter> | undefined,
    );
    expect(cursor).toEqual({ since: '2024-05-05T08:21:09.000Z', seen: [changeKey(D)] });
  });

  it('travels in the connector state, and a state without it still reads', () => {
    const cursor = cursorAfter(undefined, A);
    const text = serializeState({ cursors: { ip: '12' }, models: cursor });
    expect(parseState(text)).toEqual({
      ok: true,
      state: { cursors: { ip: '12' }, models: cursor },
    });
    expect(parseState('{"cursors":{"ip":"12"}}')).toEqual({
      ok: true,
      state: { cursors: { ip: '12' } },
    });
    expect(serializeState({ cursors: {}, models: cursor })).not.toBe('null');
  });
});
