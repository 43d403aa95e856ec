import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import amqp from 'amqplib';
import { AmqpPublisher } from '../../src/opencti/publisher';
import { captureLogs } from '../support/capture';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
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
import { sleep } from '../support/wait';

/**
 * The broker itself refusing or going away. Jest runs one test file at a time here, so stopping
 * the broker disturbs no other test; the broker is always started again before the test ends.
 */

const rabbitmqctl = (...args: string[]) => promisify(execFile)('rabbitmqctl', args);

let world: ConnectorWorld | undefined;
afterEach(async () => {
  await rabbitmqctl('start_app'); // a no-op when running; never leave the broker down
  await world?.close();
  world = undefined;
});

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
    world = await startWorld({ total });
    // One ping a page, each slowed a little: the run lasts long enough for the restart to land in it.
    world.opencti.failNext('PingConnector', { kind: 'delay', ms: 40 }, Infinity);
    const connector = startConnector(world, { ANOMALI_PAGE_SIZE: '100' });
    await waitForLog(connector.logs, (e) => e.message === 'Page imported');
    await rabbitmqctl('stop_app');
    await sleep(1000);
    await rabbitmqctl('start_app');

    expect(await connector.done).toBe(0);
    expect(connector.logs.text()).toContain('RabbitMQ');
    // Durable queue, persistent messages: what was confirmed before the stop is still there.
    expect(indicatorIdsOf(await drainQueue(world.push.queue))).toEqual(
      expectedIds(total, ALL_TYPES),
    );
    expect(storedCursors(world.opencti)).toEqual(expectedFinalCursors(total, ALL_TYPES));
  }, 120_000);
});
