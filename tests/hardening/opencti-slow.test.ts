import { closeServer } from '../support/servers';
import { idleConnectorInfo } from '../support/opencti-fixtures';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { OpenCtiApi } from '../../src/opencti/api';
import { CallDeadlines, STOPPING_TIMEOUT_MS } from '../../src/opencti/deadlines';
import { Heartbeat } from '../../src/opencti/heartbeat';
import { captureLogs } from '../support/capture';
import { waitUntil } from '../support/wait';

/**
 * A slow OpenCTI costs only its own latency: pings never pile up behind one another, a state
 * saved while a ping is in flight goes out with the next one, and once the connector stops no
 * call to OpenCTI holds it for more than a moment.
 */

const INTERVAL_MS = 40_000;

const info = idleConnectorInfo;

/** A platform whose pings are answered only when the test says so. */
function slowPlatform() {
  const pending: { state: string; answer: () => void; fail: () => void }[] = [];
  const sent: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const api = {
    pingConnector: (_id: string, state: string) => {
      sent.push(state);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      return new Promise<{ connectorState: string | null }>((resolve, reject) => {
        const settle = (fn: () => void) => () => {
          inFlight--;
          fn();
        };
        pending.push({
          state,
          answer: settle(() => resolve({ connectorState: state })),
          fail: settle(() => reject(new Error('OpenCTI ping: no answer'))),
        });
      });
    },
  };
  return {
    api,
    sent,
    maxInFlight: () => maxInFlight,
    /** Answers the oldest ping still waiting, and lets the heartbeat react. */
    async answer(): Promise<void> {
      pending.shift()!.answer();
      await settled();
    },
    async fail(): Promise<void> {
      pending.shift()!.fail();
      await settled();
    },
    waiting: () => pending.length,
  };
}

/** Lets every promise continuation that is ready run (setImmediate is never faked here). */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

function heartbeat(platform: ReturnType<typeof slowPlatform>, stop?: AbortSignal) {
  const logs = captureLogs();
  const hb = new Heartbeat({
    api: platform.api,
    connectorId: 'c',
    logger: logs.logger,
    intervalMs: INTERVAL_MS,
    initialState: { cursors: {} },
    remoteHasState: false,
    info: info(),
    ...(stop && { stop }),
  });
  return { hb, logs };
}

/** Tracks when a promise settles, without waiting for it. */
function track(promise: Promise<unknown>): { done: () => boolean } {
  let done = false;
  void promise.then(() => (done = true));
  return { done: () => done };
}

describe('the heartbeat with a slow OpenCTI', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('skips the ticks of its cadence while a ping is pending, instead of queueing them', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    const platform = slowPlatform();
    const { hb } = heartbeat(platform);
    hb.start();
    jest.advanceTimersByTime(5 * INTERVAL_MS);
    await settled();
    expect(platform.sent).toHaveLength(1);

    await platform.answer();
    expect(platform.waiting()).toBe(0);
    jest.advanceTimersByTime(INTERVAL_MS);
    await settled();
    expect(platform.sent).toHaveLength(2);
    expect(platform.maxInFlight()).toBe(1);
  });

  it('sends the states saved during a ping together in the next one, with the newest state', async () => {
    const platform = slowPlatform();
    const { hb } = heartbeat(platform);
    const { generation } = hb.load();
    const first = track(hb.save({ cursors: { ip: '1' } }, generation));
    await settled();
    const second = track(hb.save({ cursors: { ip: '2' } }, generation));
    const third = track(hb.save({ cursors: { ip: '3' } }, generation));
    const ping = track(hb.ping());
    await settled();
    expect(platform.sent).toEqual(['{"cursors":{"ip":"1"}}']);

    await platform.answer();
    expect(first.done()).toBe(true);
    // The saves made meanwhile wait for the ping that carries them, and only for that one.
    expect([second.done(), third.done(), ping.done()]).toEqual([false, false, false]);
    expect(platform.sent).toEqual(['{"cursors":{"ip":"1"}}', '{"cursors":{"ip":"3"}}']);

    await platform.answer();
    expect([second.done(), third.done(), ping.done()]).toEqual([true, true, true]);
    expect(platform.sent).toHaveLength(2);
    expect(platform.maxInFlight()).toBe(1);
  });

  it('resolves a save even when the ping carrying it fails; the next ping carries the state', async () => {
    const platform = slowPlatform();
    const { hb, logs } = heartbeat(platform);
    const saved = track(hb.save({ cursors: { ip: '7' } }, hb.load().generation));
    await settled();
    await platform.fail();
    expect(saved.done()).toBe(true);
    expect(logs.text()).toContain('OpenCTI ping failed');
    const again = track(hb.ping());
    await settled();
    await platform.answer();
    expect(again.done()).toBe(true);
    expect(platform.sent).toEqual(['{"cursors":{"ip":"7"}}', '{"cursors":{"ip":"7"}}']);
  });

  it('once stopped, leaves the state to the last ping, which says so when it cannot be sent', async () => {
    const platform = slowPlatform();
    const stop = new AbortController();
    const { hb, logs } = heartbeat(platform, stop.signal);
    stop.abort(new Error('test: stop'));
    expect(await hb.save({ cursors: { domain: '9' } }, hb.load().generation)).toBe(true);
    await hb.ping();
    expect(platform.sent).toEqual([]);

    const closed = track(hb.close());
    await settled();
    expect(platform.sent).toEqual(['{"cursors":{"domain":"9"}}']);
    await platform.fail();
    expect(closed.done()).toBe(true);
    expect(logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: expect.stringContaining('Could not send the last state to OpenCTI'),
        state: '{"cursors":{"domain":"9"}}',
      }),
    );
  });

  it('sends the last state after the pings in flight and due, never beside them', async () => {
    const platform = slowPlatform();
    const { hb } = heartbeat(platform);
    void hb.ping();
    const saved = track(hb.save({ cursors: { url: '4' } }, hb.load().generation));
    const closed = track(hb.close());
    await settled();
    expect(platform.sent).toHaveLength(1);

    await platform.answer();
    expect(platform.sent).toEqual(['null', '{"cursors":{"url":"4"}}']);
    await platform.answer();
    expect(saved.done()).toBe(true);
    expect(platform.sent).toHaveLength(3);
    await platform.answer();
    expect(closed.done()).toBe(true);
    expect(platform.sent.at(-1)).toBe('{"cursors":{"url":"4"}}');
    expect(platform.maxInFlight()).toBe(1);
  });
});

describe('OpenCTI call deadlines', () => {
  let server: http.Server | undefined;

  afterEach(async () => {
    await closeServer(server);
    server = undefined;
  });

  /** An OpenCTI that accepts every request and never answers; resolves with its URL. */
  async function hangingOpenCti(): Promise<{ url: string; requests: () => number }> {
    let requests = 0;
    server = http.createServer(() => requests++);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, requests: () => requests };
  }

  it('abandons a call in flight a moment after the stop, whatever its own time limit', async () => {
    const opencti = await hangingOpenCti();
    const stop = new AbortController();
    const api = new OpenCtiApi({
      url: opencti.url,
      token: 't0ken-value',
      sslVerify: true,
      stop: stop.signal,
      logger: captureLogs().logger,
    });
    const registering = api.healthCheck().catch((e: unknown) => e);
    await waitUntil(() => opencti.requests() === 1);
    stop.abort(new Error('test: stop'));

    const error = await registering;
    expect(String(error)).toContain(
      `OpenCTI HealthCheck: no answer within ${STOPPING_TIMEOUT_MS} ms of the stop`,
    );
    // A call made while stopping gets the same short limit rather than its own.
    const late = await api.workToProcessed('w', 'stopped', false).catch((e: unknown) => e);
    expect(String(late)).toContain(
      `OpenCTI WorkToProcessed: no answer within ${STOPPING_TIMEOUT_MS} ms`,
    );
  });

  it('gives each call its own limit until the stop, and the short one after', () => {
    const stop = new AbortController();
    const deadlines = new CallDeadlines(stop.signal);
    expect(deadlines.forCall(20_000).timeoutMs).toBe(20_000);
    stop.abort(new Error('test: stop'));
    expect(deadlines.forCall(20_000).timeoutMs).toBe(STOPPING_TIMEOUT_MS);
    expect(deadlines.forCall(500).timeoutMs).toBe(500);
  });
});
