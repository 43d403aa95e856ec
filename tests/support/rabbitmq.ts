import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type GetMessage } from 'amqplib';
import type { BrokerSettings } from '../../src/opencti/publisher';
import type { WorkerMessage, SplitBundle } from '../../src/opencti/messages';

/** The real broker the tests publish to; CI starts it. */
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

async function withChannel<T>(fn: (channel: amqp.Channel) => Promise<T>): Promise<T> {
  const connection: ChannelModel = await amqp.connect(BROKER);
  try {
    const channel = await connection.createChannel();
    return await fn(channel);
  } finally {
    await connection.close();
  }
}

/** Declares the connector's push queue the way OpenCTI does at registration and on every ping. */
export async function declarePushQueue(connectorId: string = randomUUID()): Promise<PushQueue> {
  const queue = `push_${connectorId}`;
  const routingKey = `push_routing_${connectorId}`;
  await withChannel(async (channel) => {
    await channel.assertExchange(PUSH_EXCHANGE, 'direct', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, PUSH_EXCHANGE, routingKey);
  });
  return { connectorId, queue, routingKey };
}

export async function deleteQueue(queue: string): Promise<void> {
  await withChannel((channel) => channel.deleteQueue(queue));
}

export interface ReceivedMessage {
  raw: GetMessage;
  message: WorkerMessage;
  bundle: SplitBundle;
}

/** Takes every message out of a queue. */
export async function drainRaw(queue: string): Promise<GetMessage[]> {
  return withChannel(async (channel) => {
    const received: GetMessage[] = [];
    for (;;) {
      const got = await channel.get(queue, { noAck: true });
      if (got === false) return received;
      received.push(got);
    }
  });
}

/** Reads every message in a queue as the OpenCTI worker would: JSON envelope, base64 bundle. */
export async function drainQueue(queue: string): Promise<ReceivedMessage[]> {
  return (await drainRaw(queue)).map((raw) => {
    const message = JSON.parse(raw.content.toString('utf8')) as WorkerMessage;
    const bundle = JSON.parse(
      Buffer.from(message.content, 'base64').toString('utf8'),
    ) as SplitBundle;
    return { raw, message, bundle };
  });
}

export async function queueDepth(queue: string): Promise<number> {
  return withChannel(async (channel) => (await channel.checkQueue(queue)).messageCount);
}

/** Drops every client connection, as a broker restart or a network cut would. */
export function closeAllConnections(): void {
  execFileSync('rabbitmqctl', ['close_all_connections', 'test: simulated broker failure'], {
    stdio: 'ignore',
  });
}
