import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ConnectorState } from '../../src/opencti/state';
import { expectedIndicatorIds, startWorld, type ConnectorWorld } from '../support/connector-env';
import {
  ensureBuilt,
  killStartedDaemons,
  startDaemon,
  type DaemonProcess,
} from '../support/daemon-process';
import {
  ALL_TYPES,
  idsThroughCursors,
  indicatorIdsOf,
  lastPageCursors,
  lastPingedCursors,
  missing,
  storedCursors,
} from '../support/import-expectations';
import { drainQueue } from '../support/rabbitmq';
import { waitUntil } from '../support/wait';

/** What the README promises: a stopping daemon finishes the batch in flight within 10 seconds. */
const GRACE_MS = 10_000;
const TOTAL = 4000;

let world: ConnectorWorld | undefined;

beforeAll(() => ensureBuilt(), 120_000);

afterEach(async () => {
  await killStartedDaemons();
  await world?.close();
  world = undefined;
});

/**
 * A scheduled daemon whose first run is under way: a few pages are confirmed, many remain.
 * Slow state pings stretch the run, and put most signals between a page's delivery and its
 * cursor's save, where a wrong order of the two would lose the page.
 */
async function daemonInMidRun(w: ConnectorWorld): Promise<DaemonProcess> {
  w.opencti.failNext('PingConnector', { kind: 'delay', ms: 30 }, Infinity);
  const daemon = startDaemon({
    ...w.env,
    CONNECTOR_RUN_AND_TERMINATE: 'false',
    CONNECTOR_DURATION_PERIOD: 'PT1H',
    ANOMALI_PAGE_SIZE: '100',
  });
  await waitUntil(() => savesSent(w) >= 3 || !daemon.running, 60_000);
  expect(daemon.running).toBe(true);
  return daemon;
}

/** Distinct states with cursors OpenCTI was pinged with: one per save, or per saves sent at once. */
function savesSent(w: ConnectorWorld): number {
  const states = w.opencti
    .calls('PingConnector')
    .map((call) => call.variables.state)
    .filter((state): state is string => typeof state === 'string')
    .filter(
      (state) =>
        Object.keys((JSON.parse(state) as ConnectorState | null)?.cursors ?? {}).length > 0,
    );
  return new Set(states).size;
}

describe('the built daemon stopped by a signal', () => {
  it('on SIGTERM finishes the batch in flight, closes the work, stores the last confirmed cursor and exits 0', async () => {
    world = await startWorld({ total: TOTAL });
    const daemon = await daemonInMidRun(world);

    const signalledAt = Date.now();
    daemon.kill('SIGTERM');
    expect(await daemon.waitForExit(GRACE_MS + 5000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS);
    expect(daemon.logs.map((e) => e.message)).toContain(
      'Stopping: finishing the batch in flight, then saving state',
    );

    expect(world.opencti.works).toHaveLength(1);
    expect(world.opencti.works[0]!.processed).toEqual({
      message: expect.stringMatching(/\(stopped\)\.$/),
      inError: false,
    });

    const confirmed = lastPageCursors(daemon.logs);
    expect(Object.keys(confirmed).length).toBeGreaterThan(0);
    expect(lastPingedCursors(world.opencti)).toEqual(confirmed);
    expect(storedCursors(world.opencti)).toEqual(confirmed);

    const delivered = indicatorIdsOf(await drainQueue(world.push.queue));
    expect(missing(idsThroughCursors(TOTAL, confirmed), delivered)).toEqual([]);
    // The run really stopped early, and sent nothing foreign.
    const everything = expectedIndicatorIds(TOTAL, ALL_TYPES, true);
    expect(delivered.size).toBeLessThan(everything.size);
    expect(missing(delivered, everything)).toEqual([]);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'exits at once on a second signal (%s) while the first is still being honoured',
    async (second) => {
      world = await startWorld({ total: TOTAL });
      // Closing the work hangs, so the graceful stop cannot complete on its own.
      world.opencti.failNext('WorkToProcessed', { kind: 'delay', ms: 30_000 });
      const daemon = await daemonInMidRun(world);

      daemon.kill('SIGTERM');
      await daemon.waitForLog(
        (e) => e.message === 'Stopping: finishing the batch in flight, then saving state',
      );
      await waitUntil(() => world!.opencti.calls('WorkToProcessed').length === 1);
      daemon.kill(second);

      // Closing the work hangs for 30 s: an exit within the bound is the second signal's doing.
      expect(await daemon.waitForExit(5000)).toEqual({ code: 1, signal: null });
      expect(daemon.logs.at(-1)).toMatchObject({
        level: 'warn',
        message: 'Second signal: exiting now',
        signal: second,
      });
    },
  );
});
