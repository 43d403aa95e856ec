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
import { startConnector, waitForLog } from '../support/in-process-daemon';
import { declarePushQueue, deleteQueue } from '../../stand-ins/rabbitmq/broker';
import { closeBrokerConnectionsOf, drainQueue } from '../support/rabbitmq';
import { sleep, waitUntil } from '../support/wait';

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

const RESEND = 'RabbitMQ publish failed; reconnecting to re-send the whole batch';

describe('an import while RabbitMQ fails', () => {
  it('loses nothing when its broker connection is cut again and again', async () => {
    const total = 3000;
    world = await startWorld({ total });
    // Slow pings (one a page) give the run a floor of about a second of its own time, while the
    // cuts below leave it 150 ms between each: every cut lands inside the run.
    world.opencti.failNext('PingConnector', { kind: 'delay', ms: 40 }, Infinity);
    const connector = startConnector(world, { ANOMALI_PAGE_SIZE: '100' });

    let running = true;
    void connector.done.finally(() => (running = false));
    // Each cut needs a live connection, so the daemon reconnected after every one. A cut between
    // two batches is silent (the next batch reconnects); one inside a batch re-sends the batch.
    // The cut blocks this process, daemon included: the daemon only moves on between cuts.
    let cuts = 0;
    while (cuts < 3 && running) {
      await sleep(150);
      cuts += closeBrokerConnectionsOf(process.pid);
    }
    expect(cuts).toBe(3);

    expect(await connector.done).toBe(0);
    expect(indicatorIdsOf(await drainQueue(world.push.queue))).toEqual(
      expectedIds(total, ALL_TYPES),
    );
    expect(storedCursors(world.opencti)).toEqual(expectedFinalCursors(total, ALL_TYPES));
  });

  it('re-sends to a push queue deleted mid-run once it exists again, losing nothing sent after the deletion', async () => {
    const total = 3000;
    const types = ['ip', 'domain'] as const;
    world = await startWorld({ total });
    const w = world;
    // The fourth batch waits at OpenCTI (its expectations): every earlier batch is confirmed.
    w.opencti.failNext('WorkAddExpectations', { kind: 'delay', ms: 0 }, 3);
    w.opencti.failNext('WorkAddExpectations', { kind: 'delay', ms: 1000 });
    const connector = startConnector(w, {
      ANOMALI_TYPES: types.join(','),
      ANOMALI_PAGE_SIZE: '100',
    });

    await waitUntil(() => w.opencti.calls('WorkAddExpectations').length === 4);
    const beforeDeletion = indicatorIdsOf(await drainQueue(w.push.queue));
    await deleteQueue(w.push.queue);
    const refused = await waitForLog(connector.logs, (e) => e.message === RESEND);
    expect(JSON.stringify(refused.error)).toMatch(/could not route \d+ of \d+ messages/);
    await declarePushQueue(w.connectorId);

    expect(await connector.done).toBe(0);
    const afterRecreation = indicatorIdsOf(await drainQueue(w.push.queue));
    expect(beforeDeletion.size).toBeGreaterThan(0);
    expect(union(beforeDeletion, afterRecreation)).toEqual(expectedIds(total, types));
    expect(storedCursors(w.opencti)).toEqual(expectedFinalCursors(total, types));
  });
});
