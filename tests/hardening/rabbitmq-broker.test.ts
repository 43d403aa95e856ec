import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import amqp from 'amqplib';
import { AmqpPublisher, RESEND_WARNING } from '../../src/opencti/publisher';
import { captureLogs } from '../support/capture';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { holdCall } from '../support/held-calls';
import {
  ALL_TYPES,
  expectedFinalCursors,
  expectedIds,
  indicatorIdsOf,
  storedCursors,
} from '../support/import-expectations';
import { startConnector, waitForLog } from '../support/in-process-daemon';
import {
  BROKER,
  PUSH_EXCHANGE,
  declarePushQueue,
  deleteQueue,
  queueDepth,
} from '../../stand-ins/rabbitmq/broker';
import { drainQueue, drainRaw } from '../support/rabbitmq';
import { ownRabbitMqNode } from '../support/rabbitmq-node';
import { sleep, waitUntil } from '../support/wait';

/**
 * The broker itself refusing or going away. The restart is played on a RabbitMQ node this file
 * starts for itself, never on the broker other tests and other test runs share.
 */

const node = ownRabbitMqNode();

let world: ConnectorWorld | undefined;
afterEach(async () => {
  await node()?.startApp(); // a no-op when running; the world's queue is deleted on it
  await world?.close();
  world = undefined;
}, 180_000);

describe('RabbitMQ refusing and restarting', () => {
  it('re-sends a batch the broker nacked, and loses nothing once there is room', async () => {
    // A queue that refuses what does not fit: the broker nacks those messages.
    const { queue, routingKey } = await declarePushQueue(randomUUID(), { maxLength: 10 });
    const connection = await amqp.connect(BROKER);
    const channel = await connection.createChannel();
    // Five messages the workers have not taken yet: a batch of eight does not fit.
    for (let n = 100; n < 105; n++) channel.sendToQueue(queue, Buffer.from(JSON.stringify({ n })));
    await channel.close();
    await connection.close();
    expect(await queueDepth(queue)).toBe(5);

    const logs = captureLogs();
    const publisher = new AmqpPublisher({
      broker: BROKER,
      exchange: PUSH_EXCHANGE,
      routingKey,
      logger: logs.logger,
      retry: { attempts: 20, baseDelayMs: 100, maxDelayMs: 200 },
      backPressure: { attempts: Infinity, baseDelayMs: 100, maxDelayMs: 200 },
      confirmTimeoutMs: 10_000,
    });
    const bodies = Array.from({ length: 8 }, (_, n) => Buffer.from(JSON.stringify({ n })));
    const numbers = async () =>
      (await drainRaw(queue)).map((m) => (JSON.parse(m.content.toString()) as { n: number }).n);
    const refused = () => logs.text().includes('the push queue is full');
    const received: number[] = [];
    // The worker side: once a batch is refused, make room, as consuming workers would.
    let done = false;
    const publishing = publisher.publishBatch(bodies).finally(() => (done = true));
    while (!done) {
      if (refused()) received.push(...(await numbers()));
      await sleep(20);
    }
    await publishing;
    received.push(...(await numbers()));
    await publisher.close();
    await deleteQueue(queue);

    expect(refused()).toBe(true);
    // Only the refused messages were re-sent: each arrived once.
    expect(received.filter((n) => n < 100).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('finishes the import with nothing lost when the broker is stopped and started mid-run', async () => {
    const total = 3000;
    const broker = node()!;
    world = await startWorld({ total, broker: broker.broker });
    const w = world;
    // The fourth batch waits at OpenCTI (its expectations) until the broker is down: the stop
    // lands inside the run, after confirmed pages and before most of the import.
    const held = holdCall(w.opencti, 'WorkAddExpectations', 4);
    const connector = startConnector(w, { ANOMALI_PAGE_SIZE: '100' });
    await waitUntil(() => held.reached() && Object.keys(storedCursors(w.opencti)).length > 0);
    await broker.stopApp();
    held.release();
    // Only the connector sees its publishing fail against a stopped broker, and says so.
    await waitForLog(connector.logs, (e) => e.message === RESEND_WARNING, 60_000);
    await broker.startApp();

    expect(await connector.done).toBe(0);
    // Durable queue, persistent messages: what was confirmed before the stop is still there.
    expect(indicatorIdsOf(await drainQueue(w.push.queue, broker.broker))).toEqual(
      expectedIds(total, ALL_TYPES),
    );
    expect(storedCursors(w.opencti)).toEqual(expectedFinalCursors(total, ALL_TYPES));
  }, 180_000);
});
