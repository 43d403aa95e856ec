import { afterEach, expect, it } from '@jest/globals';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { runConnector } from '../support/in-process-daemon';
import { drainQueue } from '../support/rabbitmq';

/** A single run whose cursors OpenCTI never stored has not succeeded: the next one repeats it. */

let world: ConnectorWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

it('exits 1 from a single run when OpenCTI never stored its state, and says why', async () => {
  world = await startWorld({ total: 300 });
  world.opencti.failNext('PingConnector', { kind: 'http', status: 503 }, Infinity);

  const { code, logs } = await runConnector(world, { ANOMALI_TYPES: 'domain' });

  expect(code).toBe(1);
  const errors = logs.entries().filter((e) => e.level === 'error');
  expect(errors.map((e) => e.message)).toContain(
    'OpenCTI does not hold the final state: the next run repeats what this one imported',
  );
  expect((await drainQueue(world.push.queue)).length).toBeGreaterThan(0);
  expect(world.opencti.state ?? null).toBeNull();
  // The summary and the work tell it apart from a completed run.
  const ended = logs.entries().find((e) => e.message === 'Run ended');
  expect(ended?.outcome).toBe('state_not_stored');
  const finished = world.opencti.calls('WorkToProcessed');
  expect(finished).toHaveLength(1);
  expect(finished[0]!.variables).toMatchObject({ inError: true });
  expect(finished[0]!.variables.message).toMatch(
    /imported \d+ indicators.*OpenCTI does not hold the final state: the next run repeats what this one imported\.$/,
  );
});

it('exits 0 when OpenCTI holds the final state, even if a ping of the run failed', async () => {
  world = await startWorld({ total: 300 });
  const first = await runConnector(world, { ANOMALI_TYPES: 'domain' });
  expect(first.code).toBe(0);
  await drainQueue(world.push.queue);
  // Nothing changed since: the state OpenCTI stored is the final one, whatever the last ping does.
  world.opencti.failNext('PingConnector', { kind: 'http', status: 503 }, 1);
  const second = await runConnector(world, { ANOMALI_TYPES: 'domain' });
  expect(second.code).toBe(0);
  const ended = second.logs.entries().find((e) => e.message === 'Run ended');
  expect(ended?.outcome).toBe('completed');
  const finished = world.opencti.calls('WorkToProcessed').at(-1);
  expect(finished?.variables).toMatchObject({ inError: false });
  expect(finished?.variables.message).not.toMatch(/final state/);
});
