import { afterEach, describe, expect, it } from '@jest/globals';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import {
  ALL_TYPES,
  expectedFinalCursors,
  expectedIds,
  indicatorIdsOf,
  storedCursors,
  union,
} from '../support/import-expectations';
import type { OpenCtiStub } from '../../stand-ins/opencti/stub';
import { RESEND_WARNING } from '../../src/opencti/publisher';
import { holdCall } from '../support/held-calls';
import { startConnector, waitForLog } from '../support/in-process-daemon';
import { declarePushQueue, deleteQueue, queueDepth } from '../../stand-ins/rabbitmq/broker';
import { closeBrokerConnectionsOf, drainQueue } from '../support/rabbitmq';
import { waitUntil } from '../support/wait';

/**
 * The broker failing under a running import: this process's connections cut (what clients see of
 * a network cut), and the platform's queue handling played by deleting the push queue. A real
 * broker stop and start, and real nacks, are in rabbitmq-broker.test.ts.
 */

let world: ConnectorWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Bounds a broken test only: a run of 3000 records has dozens of batches to hold. */
const MAX_HELD_BATCHES = 10;

/** The messages of the first batches: OpenCTI is told each batch's count before it is sent. */
const messagesOfBatches = (stub: OpenCtiStub, batches: number) =>
  stub
    .calls('WorkAddExpectations')
    .slice(0, batches)
    .reduce((sum, call) => sum + Number(call.variables.expectations), 0);

describe('an import while RabbitMQ fails', () => {
  it('loses nothing when its broker connection is cut again and again', async () => {
    const total = 3000;
    world = await startWorld({ total });
    const w = world;
    const connector = startConnector(w, { ANOMALI_PAGE_SIZE: '100' });

    let running = true;
    void connector.done.finally(() => (running = false));
    // Every other batch waits at OpenCTI (its expectations) while the cut is made, so each cut
    // lands inside the run, the batch before possibly still in flight. A cut needs a live
    // connection, so the daemon reconnected after every one. A cut between two batches is
    // silent (the next batch reconnects); one inside a batch re-sends the batch.
    let cuts = 0;
    for (let held = 0; cuts < 3 && running; held++) {
      if (held === MAX_HELD_BATCHES) throw new Error(`${cuts} cuts in ${held} held batches`);
      const batch = holdCall(w.opencti, 'WorkAddExpectations', 2);
      await waitUntil(() => batch.reached() || !running);
      cuts += closeBrokerConnectionsOf(process.pid);
      batch.release();
    }
    expect(cuts).toBe(3);

    expect(await connector.done).toBe(0);
    expect(indicatorIdsOf(await drainQueue(w.push.queue))).toEqual(expectedIds(total, ALL_TYPES));
    expect(storedCursors(w.opencti)).toEqual(expectedFinalCursors(total, ALL_TYPES));
  });

  it('re-sends to a push queue deleted mid-run once it exists again, losing nothing sent after the deletion', async () => {
    const total = 3000;
    const types = ['ip', 'domain'] as const;
    world = await startWorld({ total });
    const w = world;
    // The fourth batch waits at OpenCTI (its expectations) until the queue is gone.
    const fourth = holdCall(w.opencti, 'WorkAddExpectations', 4);
    const connector = startConnector(w, {
      ANOMALI_TYPES: types.join(','),
      ANOMALI_PAGE_SIZE: '100',
    });

    await waitUntil(fourth.reached);
    // The third batch may still be on its way: the queue holds all three before it goes.
    const earlier = messagesOfBatches(w.opencti, 3);
    await waitUntil(async () => (await queueDepth(w.push.queue)) >= earlier);
    const beforeDeletion = indicatorIdsOf(await drainQueue(w.push.queue));
    await deleteQueue(w.push.queue);
    fourth.release();
    const refused = await waitForLog(connector.logs, (e) => e.message === RESEND_WARNING);
    expect(JSON.stringify(refused.error)).toMatch(/could not route \d+ of \d+ messages/);
    await declarePushQueue(w.connectorId);

    expect(await connector.done).toBe(0);
    const afterRecreation = indicatorIdsOf(await drainQueue(w.push.queue));
    expect(beforeDeletion.size).toBeGreaterThan(0);
    expect(union(beforeDeletion, afterRecreation)).toEqual(expectedIds(total, types));
    expect(storedCursors(w.opencti)).toEqual(expectedFinalCursors(total, types));
  });
});
