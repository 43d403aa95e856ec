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

function storedModelsSince(w: ConnectorWorld): number {
  const state = w.opencti.state;
  if (!state || state === 'null') return Number.NEGATIVE_INFINITY;
  const since = (JSON.parse(state) as { models?: { since: string } }).models?.since;
  return since === undefined ? Number.NEGATIVE_INFINITY : Date.parse(since);
}

/** Published models (of the imported types) whose object or report is not among `received`. */
function missingModels(w: ConnectorWorld, received: readonly ReceivedMessage[], upTo = Infinity) {
  const names = new Set(
    objectsOf(received)
      .filter((o) => o.type !== 'indicator')
      .map((o) => o.name),
  );
  return w.simulator.threatModel.models
    .filter((m) => m.published && (MODEL_TYPES as readonly string[]).includes(m.type))
    .filter((m) => Math.floor(m.modifiedMs) <= upTo && !names.has(m.name))
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
    expect(missingModels(world, received, storedModelsSince(world))).toEqual([]);
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
