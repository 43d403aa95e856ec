import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { DeliveryLine } from '../../src/connector/delivery-line';
import {
  AmqpPublisher,
  PublishError,
  RESEND_WARNING,
  type PublisherOptions,
} from '../../src/opencti/publisher';
import { createLogger, silentLogger } from '../../src/log';
import { captureLogs } from '../support/capture';
import {
  BROKER,
  PUSH_EXCHANGE,
  declarePushQueue,
  deleteQueue,
} from '../../stand-ins/rabbitmq/broker';
import { closeBrokerConnectionsOf, drainRaw } from '../support/rabbitmq';
import { waitUntil } from '../support/wait';

const bodies = (n: number, size = 200) =>
  Array.from({ length: n }, (_, i) => Buffer.from(JSON.stringify({ n: i, pad: 'x'.repeat(size) })));

const sequence = (messages: { content: Buffer }[]) =>
  messages.map((m) => (JSON.parse(m.content.toString()) as { n: number }).n);

const publishers: AmqpPublisher[] = [];

function publisher(routingKey: string, overrides: Partial<PublisherOptions> = {}): AmqpPublisher {
  const p = new AmqpPublisher({
    broker: BROKER,
    exchange: PUSH_EXCHANGE,
    routingKey,
    logger: silentLogger(),
    retry: { attempts: 5, baseDelayMs: 50, maxDelayMs: 200 },
    backPressure: { attempts: Infinity, baseDelayMs: 10, maxDelayMs: 50 },
    confirmTimeoutMs: 10_000,
    ...overrides,
  });
  publishers.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(publishers.splice(0).map((p) => p.close()));
});

describe('AmqpPublisher against the real RabbitMQ', () => {
  it('delivers a batch as persistent utf-8 messages, in order, once confirmed', async () => {
    const push = await declarePushQueue();
    await publisher(push.routingKey).publishBatch(bodies(502));
    const received = await drainRaw(push.queue);
    expect(sequence(received)).toEqual(Array.from({ length: 502 }, (_, i) => i));
    for (const message of received) {
      expect(message.properties.deliveryMode).toBe(2);
      expect(message.properties.contentEncoding).toBe('utf-8');
      expect(message.fields.exchange).toBe(PUSH_EXCHANGE);
      expect(message.fields.routingKey).toBe(push.routingKey);
    }
    await deleteQueue(push.queue);
  });

  it('has the whole batch out of the socket when the delivery line lets its caller go on', async () => {
    const push = await declarePushQueue();
    const p = publisher(push.routingKey);
    await p.publishBatch(bodies(1)); // the connection is open from here on
    const writes = jest.spyOn(Socket.prototype, 'write');
    try {
      const line = new DeliveryLine();
      await line.send(() => p.publishBatch(bodies(502)));
      const toBroker = writes.mock.contexts.filter(
        (socket) => (socket as Socket).remotePort === BROKER.port,
      ) as Socket[];
      // amqplib writes each message's frames on their own.
      expect(toBroker.length).toBeGreaterThanOrEqual(502);
      expect(toBroker.at(-1)!.writableLength).toBe(0);
      await line.drain();
    } finally {
      writes.mockRestore();
    }
    expect(sequence(await drainRaw(push.queue))).toHaveLength(503);
    await deleteQueue(push.queue);
  });

  it('honours back-pressure on a batch far larger than the socket buffer', async () => {
    const push = await declarePushQueue();
    await publisher(push.routingKey).publishBatch(bodies(2000, 20_000));
    expect(sequence(await drainRaw(push.queue))).toHaveLength(2000);
    await deleteQueue(push.queue);
  });

  it('reuses its connection across batches', async () => {
    const push = await declarePushQueue();
    const p = publisher(push.routingKey);
    await p.publishBatch(bodies(3));
    await p.publishBatch(bodies(3));
    expect(sequence(await drainRaw(push.queue))).toEqual([0, 1, 2, 0, 1, 2]);
    await deleteQueue(push.queue);
  });

  it('re-sends the whole batch after the broker drops every connection mid-batch', async () => {
    const push = await declarePushQueue();
    const logs = captureLogs();
    const p = publisher(push.routingKey, { logger: logs.logger });
    await p.publishBatch(bodies(1)); // connected
    const cut = setImmediate(() => closeBrokerConnectionsOf());
    await p.publishBatch(bodies(5000, 2000));
    clearImmediate(cut);
    const received = sequence(await drainRaw(push.queue)).slice(1);
    // At least once: every message of the batch arrived, some possibly twice.
    expect(new Set(received)).toEqual(new Set(Array.from({ length: 5000 }, (_, i) => i)));
    expect(logs.entries().some((e) => e.message === RESEND_WARNING)).toBe(true);
    await deleteQueue(push.queue);
  });

  it('says so when the broker closes its idle connection, then reconnects for the next batch', async () => {
    const push = await declarePushQueue();
    const logs = captureLogs();
    const p = publisher(push.routingKey, { logger: logs.logger });
    await p.publishBatch(bodies(2));
    expect(closeBrokerConnectionsOf()).toBeGreaterThan(0);
    await waitUntil(() =>
      logs.text().includes('RabbitMQ closed the connection; the next batch reconnects'),
    );
    await p.publishBatch(bodies(2));
    expect(sequence(await drainRaw(push.queue))).toEqual([0, 1, 0, 1]);
    await deleteQueue(push.queue);
  });

  it('fails the batch instead of losing it when no queue is bound to the routing key', async () => {
    const p = publisher('push_routing_nobody', {
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
    });
    const error = await p.publishBatch(bodies(3)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(String((error as PublishError).cause)).toMatch(/could not route 3 of 3 messages/);
  });

  it('re-sends only the messages a full queue refused, once a consumer makes room', async () => {
    const push = await declarePushQueue(undefined, { maxLength: 3 });
    try {
      const received: number[] = [];
      const refusals: number[] = [];
      let accepting = 0;
      // The workers' side: each refusal makes room, as consuming workers would.
      let consuming = Promise.resolve();
      const consume = async () => {
        received.push(...sequence(await drainRaw(push.queue)));
      };
      const p = publisher(push.routingKey, {
        queueFull: {
          refused: (messages) => {
            refusals.push(messages);
            consuming = consuming.then(consume);
          },
          accepting: () => accepting++,
        },
      });
      await p.publishBatch(bodies(5));
      await consuming;
      await consume();
      // The queue took 0-2; 3 and 4 were refused until there was room, and came once each. A
      // round may find room for one of them only, so they can come in either order.
      expect(received.slice(0, 3)).toEqual([0, 1, 2]);
      expect([...received].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
      expect(refusals[0]).toBe(2);
      expect(refusals.every((refused) => refused === 1 || refused === 2)).toBe(true);
      expect(accepting).toBe(1);
    } finally {
      await deleteQueue(push.queue);
    }
  });

  it('never gives up while the queue stays full; only its signal ends the wait', async () => {
    const push = await declarePushQueue(undefined, { maxLength: 1 });
    try {
      await publisher(push.routingKey).publishBatch(bodies(1)); // the queue is full from here on
      const controller = new AbortController();
      const stop = new Error('stop');
      // Far more rounds than the failure budget (2 attempts) allows.
      let rounds = 0;
      const p = publisher(push.routingKey, {
        retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
        backPressure: { attempts: Infinity, baseDelayMs: 1, maxDelayMs: 2 },
        queueFull: {
          refused: () => {
            if (++rounds === 25) controller.abort(stop);
          },
          accepting: () => undefined,
        },
      });
      const error = await p.publishBatch(bodies(3), controller.signal).catch((e: unknown) => e);
      expect(rounds).toBe(25);
      expect(error).toBeInstanceOf(PublishError);
      expect((error as Error).message).toMatch(/refused 3 of 3 messages \(push queue full\)/);
      expect((error as Error).cause).toBe(stop);
      expect(sequence(await drainRaw(push.queue))).toEqual([0]);
    } finally {
      await deleteQueue(push.queue);
    }
  });

  it('ends a long wait for room as soon as it is aborted', async () => {
    const push = await declarePushQueue(undefined, { maxLength: 1 });
    try {
      const controller = new AbortController();
      const stop = new Error('stop');
      // A minute's pause, longer than the test's timeout: only the abort can end it in time.
      const p = publisher(push.routingKey, {
        backPressure: { attempts: Infinity, baseDelayMs: 60_000, maxDelayMs: 60_000 },
        queueFull: { refused: () => controller.abort(stop), accepting: () => undefined },
      });
      const error = await p.publishBatch(bodies(2), controller.signal).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishError);
      expect((error as Error).cause).toBe(stop);
      expect(sequence(await drainRaw(push.queue))).toEqual([0]);
    } finally {
      await deleteQueue(push.queue);
    }
  });

  it('delivers once the push queue is re-created, as OpenCTI does on the next ping', async () => {
    const push = await declarePushQueue();
    await deleteQueue(push.queue);
    const logs = captureLogs();
    const p = publisher(push.routingKey, {
      logger: logs.logger,
      retry: { attempts: Infinity, baseDelayMs: 50, maxDelayMs: 100 },
    });
    const sending = p.publishBatch(bodies(10));
    // Re-created once a send has been refused, however long that took.
    await waitUntil(() => logs.text().includes('could not route 10 of 10 messages'));
    await declarePushQueue(push.connectorId);
    await sending;
    expect(sequence(await drainRaw(push.queue))).toEqual(Array.from({ length: 10 }, (_, i) => i));
    await deleteQueue(push.queue);
  });

  it('gives up after its retry budget when the broker is unreachable, naming the cause', async () => {
    const p = publisher('x', {
      broker: { ...BROKER, port: 1 },
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
    });
    const error = await p.publishBatch(bodies(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as Error).message).toMatch(/after 2 attempts/);
    expect(
      JSON.stringify((error as Error).cause, Object.getOwnPropertyNames((error as Error).cause)),
    ).not.toContain('guest');
  });

  it('stops retrying as soon as it is aborted', async () => {
    const controller = new AbortController();
    const stop = new Error('stop');
    // Aborts on the retry's warning, while the publisher waits a minute before reconnecting.
    const abortOnLog = new Writable({
      write(_chunk, _encoding, callback) {
        controller.abort(stop);
        callback();
      },
    });
    const p = publisher('x', {
      broker: { ...BROKER, port: 1 },
      logger: createLogger({ level: 'warn', secrets: [], stream: abortOnLog }),
      retry: { attempts: 100, baseDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    const error = await p.publishBatch(bodies(1), controller.signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as Error).message).toMatch(/after 1 attempts/);
    expect((error as Error).cause).toBe(stop);
  });
});
