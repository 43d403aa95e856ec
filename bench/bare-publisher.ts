import { once } from 'node:events';
import amqp from 'amqplib';
import { BROKER, PUSH_EXCHANGE } from '../stand-ins/rabbitmq/broker';

export interface BarePublish {
  messages: number;
  bytes: number;
  /** First publish to last confirm. */
  wallMs: number;
}

/**
 * The broker's own limit for this workload: the same bodies, in the same batches, with the same
 * publish options as the connector (persistent, mandatory, confirms awaited per batch), and no
 * other work at all.
 */
export async function publishBare(
  routingKey: string,
  batches: readonly (readonly Buffer[])[],
): Promise<BarePublish> {
  const connection = await amqp.connect({
    protocol: 'amqp',
    hostname: BROKER.hostname,
    port: BROKER.port,
    username: BROKER.username,
    password: BROKER.password,
    vhost: BROKER.vhost,
    heartbeat: 10,
  });
  let returned = 0;
  try {
    const channel = await connection.createConfirmChannel();
    channel.on('return', () => returned++);
    let messages = 0;
    let bytes = 0;
    const started = performance.now();
    for (const batch of batches) {
      for (const body of batch) {
        const hasRoom = channel.publish(PUSH_EXCHANGE, routingKey, body, {
          persistent: true,
          contentEncoding: 'utf-8',
          mandatory: true,
        });
        if (!hasRoom) await once(channel, 'drain');
        messages++;
        bytes += body.length;
      }
      await channel.waitForConfirms();
    }
    const wallMs = performance.now() - started;
    if (returned > 0) throw new Error(`the broker returned ${returned} unroutable messages`);
    return { messages, bytes, wallMs };
  } finally {
    await connection.close();
  }
}

/** The RabbitMQ version the broker announces when a client connects. */
export async function brokerVersion(): Promise<string> {
  const connection = await amqp.connect(BROKER);
  try {
    const { version } = connection.connection.serverProperties;
    return typeof version === 'string' ? version : 'unknown';
  } finally {
    await connection.close();
  }
}
