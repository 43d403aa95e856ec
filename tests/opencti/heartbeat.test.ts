import { idleConnectorInfo } from '../support/opencti-fixtures';
import { describe, expect, it } from '@jest/globals';
import { Heartbeat } from '../../src/opencti/heartbeat';
import { parseState, serializeState } from '../../src/opencti/state';
import { captureLogs } from '../support/capture';

const info = idleConnectorInfo;

/** A platform that stores what it is pinged with, answers per `answer`, and can be reset. */
function platform(stored: string | null = 'null') {
  const pings: string[] = [];
  let resetPending = false;
  let answer: ((sent: string) => string | null) | undefined;
  let failing = false;
  const api = {
    pingConnector: (_id: string, state: string) => {
      if (failing) return Promise.reject(new Error('OpenCTI unreachable'));
      pings.push(state);
      if (resetPending) {
        resetPending = false;
        stored = '';
      } else {
        stored = state;
      }
      return Promise.resolve({ connectorState: answer ? answer(state) : stored });
    },
  };
  return {
    api,
    pings,
    reset: () => {
      resetPending = true;
    },
    answerWith: (fn: (sent: string) => string | null) => {
      answer = fn;
    },
    fail: (on: boolean) => {
      failing = on;
    },
  };
}

function heartbeat(p: ReturnType<typeof platform>, initial = '{"cursors":{"ip":"100"}}') {
  const parsed = parseState(initial);
  if (!parsed.ok) throw new Error(parsed.problem);
  const logs = captureLogs();
  const hb = new Heartbeat({
    api: p.api,
    connectorId: 'c',
    logger: logs.logger,
    intervalMs: 60_000,
    initialState: parsed.state,
    remoteHasState: Object.keys(parsed.state.cursors).length > 0,
    info: info(),
  });
  return { hb, logs };
}

describe('connector state text', () => {
  it('round-trips cursors and sends "null" for no state, as pycti', () => {
    expect(serializeState({ cursors: {} })).toBe('null');
    expect(serializeState({ cursors: { ip: '5', hash: '9' } })).toBe(
      '{"cursors":{"ip":"5","hash":"9"}}',
    );
    for (const empty of [null, '', 'null', '{}', '  ']) {
      expect(parseState(empty)).toEqual({ ok: true, state: { cursors: {} } });
    }
    expect(parseState('{"cursors":{"domain":"123"}}')).toEqual({
      ok: true,
      state: { cursors: { domain: '123' } },
    });
  });

  it('reports a stored state it cannot use instead of guessing', () => {
    expect(parseState('{not json')).toMatchObject({
      ok: false,
      problem: 'the stored state is not JSON',
    });
    expect(parseState('{"last_run": 1700000000}')).toMatchObject({ ok: false });
    expect(parseState('{"cursors":{"ip":"-1"}}')).toMatchObject({ ok: false });
  });
});

describe('Heartbeat', () => {
  it('pings immediately when a state is saved, with the state as JSON text', async () => {
    const p = platform();
    const { hb } = heartbeat(p, 'null');
    const { generation } = hb.load();
    expect(await hb.save({ cursors: { domain: '42' } }, generation)).toBe(true);
    expect(p.pings).toEqual(['{"cursors":{"domain":"42"}}']);
  });

  it('drops every cursor when OpenCTI answers an empty state after a UI reset', async () => {
    const p = platform('{"cursors":{"ip":"100"}}');
    const { hb, logs } = heartbeat(p);
    const before = hb.load().generation;
    p.reset();
    await hb.ping();
    expect(hb.load().state).toEqual({ cursors: {} });
    expect(hb.load().generation).toBe(before + 1);
    expect(logs.text()).toContain('Connector state was reset in OpenCTI');
    await hb.ping();
    expect(p.pings.at(-1)).toBe('null');
  });

  it('refuses a save from a run that started before the reset', async () => {
    const p = platform('{"cursors":{"ip":"100"}}');
    const { hb } = heartbeat(p);
    const { generation } = hb.load();
    p.reset();
    expect(await hb.save({ cursors: { ip: '200' } }, generation)).toBe(false);
    expect(hb.load().state).toEqual({ cursors: {} });
    expect(await hb.save({ cursors: { ip: '300' } }, generation)).toBe(false);
    expect(p.pings).toEqual(['{"cursors":{"ip":"200"}}']);
  });

  it('keeps its own state when OpenCTI echoes an older non-empty one', async () => {
    const p = platform();
    const { hb } = heartbeat(p);
    p.answerWith(() => '{"cursors":{"ip":"1"}}');
    await hb.save({ cursors: { ip: '500' } }, hb.load().generation);
    expect(hb.load().state).toEqual({ cursors: { ip: '500' } });
  });

  it('does not mistake a stale empty echo of its very first save for a reset', async () => {
    const p = platform('null');
    const { hb } = heartbeat(p, 'null');
    p.answerWith(() => 'null'); // search-index latency: the platform re-reads the old value
    await hb.save({ cursors: { url: '7' } }, hb.load().generation);
    expect(hb.load().state).toEqual({ cursors: { url: '7' } });
  });

  it('survives a failing ping and sends the latest state with the next one', async () => {
    const p = platform();
    const { hb, logs } = heartbeat(p);
    p.fail(true);
    await hb.save({ cursors: { ip: '150' } }, hb.load().generation);
    expect(hb.lastPingOk).toBe(false);
    expect(logs.text()).toContain('OpenCTI ping failed');
    p.fail(false);
    await hb.ping();
    expect(p.pings).toEqual(['{"cursors":{"ip":"150"}}']);
    expect(hb.lastPingOk).toBe(true);
  });
});
