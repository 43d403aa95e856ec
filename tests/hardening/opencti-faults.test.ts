import { afterEach, describe, expect, it } from '@jest/globals';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import {
  expectedFinalCursors,
  expectedIds,
  indicatorIdsOf,
  storedCursors,
  type Cursors,
} from '../support/import-expectations';
import { runConnector, startConnector, waitForLog } from '../support/in-process-daemon';
import { drainQueue } from '../support/rabbitmq';

/**
 * OpenCTI misbehaving: the indicators matter more than the bookkeeping, so the import goes on
 * through what it can go on through, says what went wrong, and catches up once OpenCTI answers.
 */

const TOTAL = 1500;
const IMPORT = { ANOMALI_TYPES: 'domain', ANOMALI_PAGE_SIZE: '25' };

let world: ConnectorWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

const messagesOf = (entries: Record<string, unknown>[], message: string) =>
  entries.filter((e) => e.message === message);

const cursorsOf = (state: unknown): Cursors =>
  typeof state === 'string' && state !== 'null'
    ? (JSON.parse(state) as { cursors: Cursors }).cursors
    : {};

describe('an import while OpenCTI misbehaves', () => {
  it('waits for an OpenCTI that is not up yet, saying so, then imports everything', async () => {
    world = await startWorld({ total: TOTAL });
    await world.opencti.goOffline();

    const connector = startConnector(world, IMPORT);
    const warning = await waitForLog(
      connector.logs,
      (e) => e.message === 'OpenCTI is not reachable yet; retrying',
    );
    expect(warning).toMatchObject({
      level: 'warn',
      attempt: 1,
      retry_in_s: expect.any(Number),
      reason: expect.stringContaining('refused the connection: OpenCTI not started yet'),
    });
    await world.opencti.goOnline();

    expect(await connector.done).toBe(0);
    expect(indicatorIdsOf(await drainQueue(world.push.queue))).toEqual(
      expectedIds(TOTAL, ['domain']),
    );
    expect(storedCursors(world.opencti)).toEqual(expectedFinalCursors(TOTAL, ['domain']));
  });

  it('keeps importing while pings fail, and the state reaches OpenCTI with the next ping that succeeds', async () => {
    world = await startWorld({ total: TOTAL });
    const { opencti } = world;
    // The run's first ping passes; the next five fail in three different ways.
    opencti.failNext('PingConnector', { kind: 'delay', ms: 0 });
    opencti.failNext('PingConnector', { kind: 'http', status: 502 }, 2);
    opencti.failNext('PingConnector', { kind: 'graphql', name: 'INTERNAL_SERVER_ERROR' }, 2);
    opencti.failNext('PingConnector', { kind: 'network' });

    const { code, logs } = await runConnector(world, IMPORT);
    expect(code).toBe(0);
    expect(
      messagesOf(logs.entries(), 'OpenCTI ping failed; the state will be sent with the next ping'),
    ).toHaveLength(5);

    const pings = opencti.calls('PingConnector');
    const lastFailed = pings.findLastIndex((p) => p.failure !== undefined && p.failure !== 'delay');
    const lostCursor = cursorsOf(pings[lastFailed]!.variables.state).domain!;
    const caughtUp = cursorsOf(pings[lastFailed + 1]!.variables.state).domain!;
    expect(BigInt(caughtUp)).toBeGreaterThanOrEqual(BigInt(lostCursor));
    expect(storedCursors(opencti)).toEqual(expectedFinalCursors(TOTAL, ['domain']));
    expect(indicatorIdsOf(await drainQueue(world.push.queue))).toEqual(
      expectedIds(TOTAL, ['domain']),
    );
  });

  it('imports everything without a work when OpenCTI answers the work creation with a GraphQL error', async () => {
    world = await startWorld({ total: TOTAL });
    world.opencti.failNext('WorkAdd', { kind: 'graphql', name: 'LOCK_ERROR' });

    const { code, logs } = await runConnector(world, IMPORT);
    expect(code).toBe(0);
    expect(
      messagesOf(logs.entries(), 'Could not create the OpenCTI work; importing without one'),
    ).toEqual([
      expect.objectContaining({
        error: expect.objectContaining({ message: expect.stringContaining('LOCK_ERROR') }),
      }),
    ]);
    const received = await drainQueue(world.push.queue);
    expect(received.every(({ message }) => message.work_id === undefined)).toBe(true);
    expect(indicatorIdsOf(received)).toEqual(expectedIds(TOTAL, ['domain']));
  });

  it('keeps publishing when adding expectations and closing the work fail with GraphQL errors', async () => {
    world = await startWorld({ total: TOTAL });
    world.opencti.failNext('WorkAddExpectations', { kind: 'graphql', name: 'LOCK_ERROR' }, 3);
    world.opencti.failNext('WorkToProcessed', { kind: 'graphql', name: 'INTERNAL_SERVER_ERROR' });

    const { code, logs } = await runConnector(world, IMPORT);
    expect(code).toBe(0);
    const entries = logs.entries();
    expect(
      messagesOf(entries, 'Could not add expectations to the OpenCTI work; publishing anyway'),
    ).toHaveLength(3);
    expect(messagesOf(entries, 'Could not close the OpenCTI work')).toHaveLength(1);
    const received = await drainQueue(world.push.queue);
    const workId = world.opencti.works[0]!.id;
    expect(received.every(({ message }) => message.work_id === workId)).toBe(true);
    expect(indicatorIdsOf(received)).toEqual(expectedIds(TOTAL, ['domain']));
    expect(storedCursors(world.opencti)).toEqual(expectedFinalCursors(TOTAL, ['domain']));
  });
});
