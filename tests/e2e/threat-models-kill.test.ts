import { afterEach, beforeAll, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MODEL_TYPES } from '../../src/model-types';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { ensureBuilt, killStartedDaemons, startDaemon } from '../support/daemon-process';
import { invalidObjects } from '../support/import-expectations';
import { drainQueue, type ReceivedMessage } from '../support/rabbitmq';
import { testSeed } from '../support/seed';
import { objectsOf, unresolvableReferences } from '../support/threat-model-expectations';
import { sleep } from '../support/wait';
import type { ModelCursor } from '../../src/opencti/state';
import type { SimulatedModel } from '../../stand-ins/threatstream/models';

/**
 * `kill -9` of the built connector while it imports threat models, then restarts until a run
 * completes: the models' cursor is never ahead of what the broker confirmed, and every model
 * arrives in the end.
 */

/** A bulletin linked to this many IOCs keeps the model window busy long enough to be hit. */
const MODELS = { perType: 3, iocsPerModel: 50, largeBulletinIocs: 15_000 };
const KILL_AFTER_MS = { min: 200, max: 2500 };
/**
 * ThreatStream's time to answer: the first run's model window makes about 200 requests one after
 * another, so it lasts longer than the latest kill point however fast the machine is.
 */
const LATENCY_MS = 20;
/**
 * Runs killed at most; the next one runs to its end. On a loaded machine the large bulletin alone
 * can outlast every kill point, and the test would otherwise never end.
 */
const MAX_KILLS = 8;

let world: ConnectorWorld | undefined;

beforeAll(() => ensureBuilt(), 120_000);

afterEach(async () => {
  await killStartedDaemons();
  await world?.close();
  world = undefined;
});

/**
 * Whether the stored models' cursor has passed a model: changed before the second of its `since`,
 * or listed among the models already delivered from that second on.
 */
function storedCursorPassed(w: ConnectorWorld): (m: SimulatedModel) => boolean {
  const state = w.opencti.state;
  const cursor =
    state && state !== 'null' ? (JSON.parse(state) as { models?: ModelCursor }).models : undefined;
  if (cursor === undefined) return () => false;
  const secondStart = Math.floor(Date.parse(cursor.since) / 1000) * 1000;
  const seen = new Set(cursor.seen.map((key) => key.slice(0, key.lastIndexOf('@'))));
  return (m) => m.modifiedMs < secondStart || seen.has(`${m.type}:${m.id}`);
}

/** Published models (of the imported types) whose object or report is not among `received`. */
function missingModels(
  w: ConnectorWorld,
  received: readonly ReceivedMessage[],
  passed: (m: SimulatedModel) => boolean = () => true,
) {
  const names = new Set(
    objectsOf(received)
      .filter((o) => o.type !== 'indicator')
      .map((o) => o.name),
  );
  return w.simulator.threatModel.models
    .filter((m) => m.published && (MODEL_TYPES as readonly string[]).includes(m.type))
    .filter((m) => passed(m) && !names.has(m.name))
    .map((m) => `${m.type}:${m.name}`);
}

it('loses no threat model when killed with SIGKILL during the model window and restarted', async () => {
  const killAfter = fc.sample(fc.integer(KILL_AFTER_MS), {
    seed: testSeed('threat-model kill points'),
    numRuns: MAX_KILLS,
  });
  world = await startWorld({ total: 2000, models: MODELS, latencyMs: LATENCY_MS });
  const received: ReceivedMessage[] = [];
  let kills = 0;
  for (let run = 1; ; run++) {
    const daemon = startDaemon({ ...world.env, ANOMALI_TYPES: 'domain' });
    const windowOpened = await daemon
      .waitForLog((e) => e.message === 'Threat models changed')
      .then(() => true)
      .catch(() => false);
    if (run > MAX_KILLS) await daemon.exited;
    else if (windowOpened) await Promise.race([daemon.exited, sleep(killAfter[run - 1]!)]);
    if (daemon.running) daemon.kill('SIGKILL');
    const exit = await daemon.exited;
    received.push(...(await drainQueue(world.push.queue)));
    // Whatever the stored cursor has passed was confirmed by the broker before it was stored.
    expect(missingModels(world, received, storedCursorPassed(world))).toEqual([]);
    if (exit.signal !== 'SIGKILL') {
      expect(exit).toEqual({ code: 0, signal: null });
      break;
    }
    kills++;
  }
  expect(kills).toBeGreaterThanOrEqual(1);
  expect(missingModels(world, received)).toEqual([]);
  expect(unresolvableReferences(received)).toEqual([]);
  expect(invalidObjects(received)).toEqual([]);
}, 180_000);
