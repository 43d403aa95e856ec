import { afterEach, beforeAll, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { expectedIndicatorIds, startWorld, type ConnectorWorld } from '../support/connector-env';
import { ensureBuilt, killStartedDaemons, startDaemon } from '../support/daemon-process';
import {
  ALL_TYPES,
  expectedFinalCursors,
  indicatorIdsOf,
  missing,
  storedCursors,
  type Cursors,
} from '../support/import-expectations';
import { drainQueue } from '../support/rabbitmq';
import { testSeed } from '../support/seed';
import { sleep, waitUntil } from '../support/wait';

const TOTAL = 20_000;
/** Small pages make many cursor saves, so the kills land between and inside them. */
const PAGE_SIZE = '250';
/** A run gets this long after registering before it is killed: at random points of the import. */
const KILL_AFTER_MS = { min: 100, max: 1500 };
/**
 * Runs killed at most; the next one runs to its end. A killed run may store nothing new: a type's
 * cursor stays below its deactivations waiting for a full OpenCTI lookup, and many kill points
 * come before the first one is made.
 */
const MAX_KILLS = 12;
/** How long a daemon may take to register on a busy machine before the test gives up on it. */
const REGISTRATION_TIMEOUT_MS = 60_000;

let world: ConnectorWorld | undefined;

beforeAll(() => ensureBuilt(), 120_000);

afterEach(async () => {
  await killStartedDaemons();
  await world?.close();
  world = undefined;
});

it('loses nothing when killed with SIGKILL at random points of a 20,000-record import and restarted', async () => {
  world = await startWorld({ total: TOTAL });
  const w = world;
  const killAfter = fc.sample(fc.integer(KILL_AFTER_MS), {
    seed: testSeed('kill points'),
    numRuns: MAX_KILLS,
  });
  const registrations = () => w.opencti.calls('RegisterConnector').length;
  let kills = 0;
  let resumedFrom: Cursors;

  for (let run = 1; ; run++) {
    // What the next daemon reads at registration: the cursors of the pages confirmed so far.
    resumedFrom = storedCursors(w.opencti);
    const registered = registrations();
    const daemon = startDaemon({ ...w.env, ANOMALI_PAGE_SIZE: PAGE_SIZE });
    // The kill time counts from the registration reaching OpenCTI, not from the process start.
    await waitUntil(() => registrations() > registered || !daemon.running, REGISTRATION_TIMEOUT_MS);
    if (run === 1) {
      // The first run is killed once it has stored a cursor: mid-import however fast the machine.
      const stored = () => Object.keys(storedCursors(w.opencti)).length > 0;
      await waitUntil(() => stored() || !daemon.running, REGISTRATION_TIMEOUT_MS);
    } else if (run <= MAX_KILLS) {
      await Promise.race([daemon.exited, sleep(killAfter[run - 1]!)]);
    }
    if (run <= MAX_KILLS && daemon.running) daemon.kill('SIGKILL');
    const exit = await daemon.exited;
    if (exit.signal === 'SIGKILL') {
      kills++;
      continue;
    }
    // Finished, possibly in the instant between the check and the signal.
    expect(exit).toEqual({ code: 0, signal: null });
    break;
  }

  // Killed mid-import (the first run always is), and every cursor reached its end.
  expect(kills).toBeGreaterThanOrEqual(1);
  expect(storedCursors(w.opencti)).toEqual(expectedFinalCursors(TOTAL, ALL_TYPES, resumedFrom));
  // At least once: every indicator arrived, duplicates of re-sent pages allowed, nothing foreign.
  const delivered = indicatorIdsOf(await drainQueue(w.push.queue));
  expect(missing(expectedIndicatorIds(TOTAL, ALL_TYPES, true), delivered)).toEqual([]);
  expect(missing(delivered, expectedIndicatorIds(TOTAL, ALL_TYPES, false))).toEqual([]);
  expect(w.opencti.takeViolations()).toEqual([]);
}, 120_000);
