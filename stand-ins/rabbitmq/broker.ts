import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type Message } from 'amqplib';
import type { BrokerSettings } from '../../src/opencti/publisher';

/** The local broker the tests and the benchmark publish to; CI starts it. */
export const BROKER: BrokerSettings = {
  hostname: '127.0.0.1',
  port: 5672,
  username: 'guest',
  password: 'guest',
  vhost: '/',
};

export const PUSH_EXCHANGE = 'amqp.worker.exchange';

export interface PushQueue {
  connectorId: string;
  queue: string;
  routingKey: string;
}

/** Runs `fn` on a channel of its own connection, closed afterwards. */
export async function withChannel<T>(
  fn: (channel: amqp.Channel) => Promise<T>,
  broker: BrokerSettings = BROKER,
): Promise<T> {
  const connection: ChannelModel = await amqp.connect(broker);
  try {
    const channel = await connection.createChannel();
    return await fn(channel);
  } finally {
    await connection.close();
  }
}

/**
 * Declares the connector's push queue the way OpenCTI does at registration and on every ping.
 * With `maxLength`, the queue refuses what goes beyond it: the broker nacks those messages.
 */
export async function declarePushQueue(
  connectorId: string = randomUUID(),
  options: { maxLength?: number; broker?: BrokerSettings } = {},
): Promise<PushQueue> {
  const queue = `push_${connectorId}`;
  const routingKey = `push_routing_${connectorId}`;
  const limit =
    options.maxLength === undefined
      ? {}
      : { arguments: { 'x-max-length': options.maxLength, 'x-overflow': 'reject-publish' } };
  await withChannel(async (channel) => {
    await channel.assertExchange(PUSH_EXCHANGE, 'direct', { durable: true });
    await channel.assertQueue(queue, { durable: true, ...limit });
    await channel.bindQueue(queue, PUSH_EXCHANGE, routingKey);
  }, options.broker);
  return { connectorId, queue, routingKey };
}

export async function deleteQueue(queue: string, broker: BrokerSettings = BROKER): Promise<void> {
  await withChannel((channel) => channel.deleteQueue(queue), broker);
}

export async function queueDepth(queue: string, broker: BrokerSettings = BROKER): Promise<number> {
  return withChannel(async (channel) => (await channel.checkQueue(queue)).messageCount, broker);
}

/**
 * Takes every message out of a queue, in queue order. A consumer streams them (one `basic.get`
 * round trip per message is slow for a 20,000-record import); a final `get` picks up stragglers.
 */
export async function drainRaw(queue: string, broker: BrokerSettings = BROKER): Promise<Message[]> {
  return withChannel(async (channel) => {
    const received: Message[] = [];
    const { messageCount } = await channel.checkQueue(queue);
    if (messageCount > 0) {
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      // Ends on the count announced, or after a pause in deliveries should that count be stale.
      let idle = setTimeout(done, 1000);
      const { consumerTag } = await channel.consume(
        queue,
        (message) => {
          if (message === null) return done();
          received.push(message);
          clearTimeout(idle);
          idle = setTimeout(done, 1000);
          if (received.length >= messageCount) done();
        },
        { noAck: true },
      );
      await finished;
      clearTimeout(idle);
      await channel.cancel(consumerTag);
    }
    for (;;) {
      const got = await channel.get(queue, { noAck: true });
      if (got === false) return received;
      received.push(got);
    }
  }, broker);
}
