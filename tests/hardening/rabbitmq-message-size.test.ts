import { afterEach, describe, expect, it } from '@jest/globals';
import {
  AmqpPublisher,
  BrokerMessageSizeError,
  RESEND_WARNING,
  sizeRejection,
} from '../../src/opencti/publisher';
import { captureLogs } from '../support/capture';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { indicatorIdsOf, storedCursors } from '../support/import-expectations';
import { runConnector } from '../support/in-process-daemon';
import { PUSH_EXCHANGE, declarePushQueue, deleteQueue } from '../../stand-ins/rabbitmq/broker';
import { drainQueue } from '../support/rabbitmq';
import { ownRabbitMqNode } from '../support/rabbitmq-node';
import { intelRecord, pageBody } from '../support/threatstream-fixtures';
import { servingPage } from '../support/threatstream-faults';

/**
 * A broker whose `max_message_size` is below MQ_MAX_MESSAGE_MB: RabbitMQ closes the channel with
 * 406 PRECONDITION_FAILED on the first message over its limit. The limit is a node-wide setting,
 * so it is set on a RabbitMQ node this file starts for itself, never on the shared broker.
 */

const BROKER_LIMIT = 8192;
/** Small enough for MQ_MAX_MESSAGE_MB, too large for the broker once base64-encoded. */
const LONG_DESCRIPTION = 'd'.repeat(9000);

const node = ownRabbitMqNode({ maxMessageBytes: BROKER_LIMIT });

let world: ConnectorWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('a broker whose max_message_size is below MQ_MAX_MESSAGE_MB', () => {
  it('fails the batch at once with a typed error, without re-sending it', async () => {
    const broker = node()!.broker;
    const { queue, routingKey } = await declarePushQueue(undefined, { broker });
    const logs = captureLogs();
    const publisher = new AmqpPublisher({
      broker,
      exchange: PUSH_EXCHANGE,
      routingKey,
      logger: logs.logger,
      retry: { attempts: 20, baseDelayMs: 10, maxDelayMs: 20 },
      backPressure: { attempts: Infinity, baseDelayMs: 10, maxDelayMs: 20 },
      confirmTimeoutMs: 10_000,
    });
    const bodies = [Buffer.alloc(100), Buffer.alloc(BROKER_LIMIT + 1), Buffer.alloc(100)];

    const failure = await publisher.publishBatch(bodies).catch((error: unknown) => error);
    await publisher.close();
    await deleteQueue(queue, broker);

    expect(failure).toBeInstanceOf(BrokerMessageSizeError);
    expect((failure as Error).message).toContain(
      `RabbitMQ refused a message of ${BROKER_LIMIT + 1} bytes: its max_message_size is ${BROKER_LIMIT} bytes`,
    );
    expect((failure as Error).cause).toMatchObject({ code: 406 });
    const warnings = logs.entries().map((e) => e.message);
    expect(warnings).not.toContain(RESEND_WARNING);
    expect(warnings.filter((m) => m === 'RabbitMQ channel error')).toHaveLength(1);
  });

  it('ends the run in error naming MQ_MAX_MESSAGE_MB, with the cursor where it was', async () => {
    world = await startWorld({ total: 10, broker: node()!.broker });
    const records = Array.from({ length: 20 }, (_, i) =>
      intelRecord(700_001 + i, i === 9 ? { description: LONG_DESCRIPTION } : {}),
    );
    const page = JSON.stringify(pageBody(records));
    world.simulator.fault = servingPage('ip', page);

    const { code, logs } = await runConnector(world, { ANOMALI_TYPES: 'ip' });

    expect(code).toBe(1);
    const errors = logs.entries().filter((e) => e.level === 'error');
    expect(errors).toHaveLength(1);
    expect(JSON.stringify(errors[0])).toMatch(/max_message_size is 8192 bytes.*MQ_MAX_MESSAGE_MB/);
    expect(logs.entries().map((e) => e.message)).not.toContain(RESEND_WARNING);
    expect(world.opencti.works[0]!.processed).toMatchObject({ inError: true });
    expect(world.opencti.works[0]!.processed!.message).toMatch(/MQ_MAX_MESSAGE_MB/);
    expect(storedCursors(world.opencti)).toEqual({});
    // The messages the broker took before the refusal arrived once: nothing was re-sent.
    const received = await drainQueue(world.push.queue, node()!.broker);
    const indicators = received.filter((r) => r.bundle.objects[0].type === 'indicator');
    expect(indicators.length).toBeGreaterThan(0);
    expect(indicatorIdsOf(received).size).toBe(indicators.length);
  });
});

it('recognises only a 406 close that speaks of the message size', () => {
  const close = (code: number, text: string) => Object.assign(new Error(text), { code });
  const size = 'PRECONDITION_FAILED - message size 9000 is larger than configured max size 4096';
  expect(sizeRejection(close(406, size))).toBeInstanceOf(BrokerMessageSizeError);
  expect(sizeRejection(close(406, 'PRECONDITION_FAILED - inequivalent arg'))).toBeUndefined();
  expect(sizeRejection(close(404, size))).toBeUndefined();
  expect(sizeRejection(undefined)).toBeUndefined();
});
