import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import {
  ensureBuilt,
  killStartedDaemons,
  startDaemon,
  type DaemonProcess,
} from '../support/daemon-process';
import type { StubFailure } from '../../stand-ins/opencti/stub';
import { waitUntil } from '../support/wait';

/**
 * An OpenCTI that accepts connections but does not answer must not keep a stopping connector
 * alive: whichever call it hangs on, SIGTERM ends the process with code 0 within the 10 seconds
 * the README promises (Docker's default grace is 30).
 */

const GRACE_MS = 10_000;
/** Accepted, never answered within the test. */
const HANG: StubFailure = { kind: 'delay', ms: 600_000 };
const SCHEDULED = {
  CONNECTOR_RUN_AND_TERMINATE: 'false',
  CONNECTOR_DURATION_PERIOD: 'PT1H',
  ANOMALI_TYPES: 'ip',
  ANOMALI_PAGE_SIZE: '50',
};
const OPERATIONS = [
  'HealthCheck',
  'RegisterConnector',
  'PingConnector',
  'ConnectorQueueDetails',
  'WorkAdd',
  'WorkAddExpectations',
  'WorkToProcessed',
];

let world: ConnectorWorld | undefined;

beforeAll(() => ensureBuilt(), 120_000);

afterEach(async () => {
  await killStartedDaemons();
  await world?.close();
  world = undefined;
});

/** Sends SIGTERM; resolves with the exit and how long it took. */
async function terminate(daemon: DaemonProcess) {
  const signalledAt = Date.now();
  daemon.kill('SIGTERM');
  const exit = await daemon.waitForExit(GRACE_MS + 5000);
  return { exit, ms: Date.now() - signalledAt };
}

const lastStateLost = (daemon: DaemonProcess) =>
  daemon.logs.some((e) => e.message.startsWith('Could not send the last state to OpenCTI'));

describe('SIGTERM while OpenCTI hangs', () => {
  it.each(OPERATIONS)('on %s: exits 0 within the grace period', async (operation) => {
    world = await startWorld({ total: 300 });
    const { opencti } = world;
    opencti.failNext(operation, HANG, Infinity);
    const daemon = startDaemon({ ...world.env, ...SCHEDULED });
    await waitUntil(() => opencti.calls(operation).length > 0);

    const { exit, ms } = await terminate(daemon);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(GRACE_MS);
    if (operation === 'PingConnector') expect(lastStateLost(daemon)).toBe(true);
  });

  it('on the last ping: exits 0 within the grace period and says the state was not sent', async () => {
    world = await startWorld({ total: 300 });
    const daemon = startDaemon({ ...world.env, ...SCHEDULED });
    await daemon.waitForLog((e) => e.message === 'Next run scheduled');
    world.opencti.failNext('PingConnector', HANG, Infinity);

    const { exit, ms } = await terminate(daemon);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(GRACE_MS);
    expect(lastStateLost(daemon)).toBe(true);
  });

  it('on every call at once, in the middle of a run', async () => {
    world = await startWorld({ total: 3000 });
    const { opencti } = world;
    const daemon = startDaemon({ ...world.env, ...SCHEDULED, ANOMALI_PAGE_SIZE: '20' });
    let pages = 0;
    await daemon.waitForLog((e) => e.message === 'Page imported' && ++pages === 3);
    for (const operation of OPERATIONS) opencti.failNext(operation, HANG, Infinity);

    const { exit, ms } = await terminate(daemon);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(GRACE_MS);
    expect(lastStateLost(daemon)).toBe(true);
  });
});
