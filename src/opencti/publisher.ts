import { once } from 'node:events';
import { isIP } from 'node:net';
import amqp, { type ChannelModel, type ConfirmChannel, type SocketOptions } from 'amqplib';
import { serializeError, type Logger } from '../log';
import { RetriesExhaustedError, withRetry, type RetryPolicy } from '../retry';

export interface BrokerTls {
  ca?: string;
  cert?: string;
  key?: string;
  passphrase?: string;
  rejectUnauthorized: boolean;
}

export interface BrokerSettings {
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  /** Present when the broker speaks amqps. */
  tls?: BrokerTls;
}

export interface PublisherOptions {
  broker: BrokerSettings;
  exchange: string;
  routingKey: string;
  logger: Logger;
  retry: RetryPolicy;
  /** A batch whose confirms take longer than this (broker blocked, network stall) is re-sent. */
  confirmTimeoutMs: number;
}

export class PublishError extends Error {
  override name = 'PublishError';
}

/** The broker returned messages: the push queue is missing or unbound (the platform re-binds it on ping). */
class UnroutableError extends Error {
  override name = 'UnroutableError';
}

/**
 * Publishes message batches to the connector's push exchange with publisher confirms.
 * A batch either ends fully confirmed by the broker, or the publisher reconnects and re-sends
 * the whole batch: re-sends are upserts because every STIX id is deterministic.
 * Messages are `mandatory`, so a message the broker cannot route fails the batch instead of
 * silently vanishing (pycti does not do this; a deleted queue would otherwise eat indicators).
 */
export class AmqpPublisher {
  private connection: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;

  constructor(private readonly options: PublisherOptions) {}

  /**
   * Hands every message of the batch to amqplib before returning to the event loop, then waits
   * for the confirms. On an open channel nothing is awaited first, so the whole batch is queued
   * by the time the caller resumes, and amqplib writes it out on the next turn of the loop.
   */
  async publishBatch(bodies: readonly Buffer[], signal?: AbortSignal): Promise<void> {
    const { retry, logger } = this.options;
    // Counted here too: an abort ends the retries without a RetriesExhaustedError.
    let attempts = 0;
    try {
      await withRetry(
        retry,
        (attempt) => {
          attempts = attempt;
          return this.attempt(bodies, signal);
        },
        {
          signal,
          onRetry: (error, attempt, delayMs) => {
            logger.warn('RabbitMQ publish failed; reconnecting to re-send the whole batch', {
              attempt,
              delay_ms: delayMs,
              messages: bodies.length,
              error: serializeError(error),
            });
          },
        },
      );
    } catch (error) {
      throw new PublishError(
        `RabbitMQ did not confirm a batch of ${bodies.length} messages after ${attempts} attempts`,
        { cause: error instanceof RetriesExhaustedError ? error.cause : error },
      );
    }
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    if (connection) await connection.close().catch(() => undefined);
  }

  /** One try at the whole batch; a failed try drops the connection so that the next reconnects. */
  private async attempt(bodies: readonly Buffer[], signal: AbortSignal | undefined): Promise<void> {
    try {
      const channel = this.channel ?? (await this.openChannel());
      await this.publishOnce(channel, bodies, signal);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  private async openChannel(): Promise<ConfirmChannel> {
    const { broker, logger } = this.options;
    const tls = broker.tls;
    const socketOptions: SocketOptions = {
      timeout: 30_000,
      ...(tls && {
        // SNI carries host names only (RFC 6066); Node warns on stderr when given an IP.
        ...(isIP(broker.hostname) === 0 && { servername: broker.hostname }),
        rejectUnauthorized: tls.rejectUnauthorized,
        ...(tls.ca !== undefined && { ca: [tls.ca] }),
        ...(tls.cert !== undefined && { cert: tls.cert }),
        ...(tls.key !== undefined && { key: tls.key }),
        ...(tls.passphrase !== undefined && { passphrase: tls.passphrase }),
      }),
    };
    const connection = await amqp.connect(
      {
        protocol: tls ? 'amqps' : 'amqp',
        hostname: broker.hostname,
        port: broker.port,
        username: broker.username,
        password: broker.password,
        vhost: broker.vhost,
        heartbeat: 10,
      },
      socketOptions,
    );
    // An 'error' event without a listener would crash the process; failures surface through publishing.
    connection.on('error', (error: Error) => {
      logger.warn('RabbitMQ connection error', { error: serializeError(error) });
    });
    connection.on('close', () => {
      // Our own close() forgets the connection first; any other close came from the broker side.
      if (this.connection === connection) {
        this.connection = undefined;
        this.channel = undefined;
        logger.warn('RabbitMQ closed the connection; the next batch reconnects');
      }
    });
    connection.on('blocked', (reason: string) => {
      logger.warn('RabbitMQ blocked publishing (broker resource alarm)', { reason });
    });
    const channel = await connection.createConfirmChannel();
    channel.on('error', (error: Error) => {
      logger.warn('RabbitMQ channel error', { error: serializeError(error) });
    });
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    this.connection = connection;
    this.channel = channel;
    return channel;
  }

  private async publishOnce(
    channel: ConfirmChannel,
    bodies: readonly Buffer[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { exchange, routingKey, confirmTimeoutMs } = this.options;
    let returned = 0;
    const onReturn = () => returned++;
    const { interrupted, release } = batchInterruption(channel, confirmTimeoutMs, signal);
    const { onConfirm, confirmed } = batchConfirms(bodies.length);
    channel.on('return', onReturn);
    try {
      for (const body of bodies) {
        // Honour back-pressure: without it a large run buffers every message in memory.
        if (!channel.publish(exchange, routingKey, body, PUBLISH_OPTIONS, onConfirm)) {
          await Promise.race([once(channel, 'drain'), interrupted]);
        }
      }
      await Promise.race([confirmed, interrupted]);
      if (returned > 0) {
        throw new UnroutableError(
          `RabbitMQ could not route ${returned} of ${bodies.length} messages to ${exchange}/${routingKey}`,
        );
      }
    } finally {
      release();
      channel.off('return', onReturn);
    }
  }
}

/**
 * Rejects `interrupted` when the batch must be given up: its confirms take longer than
 * `timeoutMs`, the channel closes, or the caller aborts. `release` stops watching.
 */
function batchInterruption(
  channel: ConfirmChannel,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): { interrupted: Promise<never>; release: () => void } {
  const stop = new AbortController();
  const interrupted = new Promise<never>((_, reject) => {
    stop.signal.addEventListener('abort', () => reject(stop.signal.reason as Error));
  });
  interrupted.catch(() => undefined); // observed by the caller; never an unhandled rejection
  const onClose = () => stop.abort(new Error('RabbitMQ channel closed during the batch'));
  const onAbort = () => stop.abort(signal?.reason);
  const timer = setTimeout(
    () => stop.abort(new Error(`RabbitMQ confirms took longer than ${timeoutMs} ms`)),
    timeoutMs,
  );
  channel.once('close', onClose);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  const release = () => {
    clearTimeout(timer);
    channel.off('close', onClose);
    signal?.removeEventListener('abort', onAbort);
  };
  return { interrupted, release };
}

/** Persistent like pycti's messages; `mandatory` so that an unroutable message fails the batch. */
const PUBLISH_OPTIONS = { persistent: true, contentEncoding: 'utf-8', mandatory: true } as const;

/**
 * Confirm tracking for a batch of `count` messages: one callback shared by all of them, instead
 * of waitForConfirms, which makes a promise per message. amqplib calls it once per message, with
 * null on an ack and an error on a nack or when the channel closes first.
 */
function batchConfirms(count: number): {
  onConfirm: (error: unknown) => void;
  confirmed: Promise<void>;
} {
  let unconfirmed = count;
  let onConfirm: (error: unknown) => void = () => undefined;
  const confirmed = new Promise<void>((resolve, reject) => {
    onConfirm = (error) => {
      if (error instanceof Error) reject(error);
      else if (error !== null && error !== undefined)
        reject(new Error('RabbitMQ nacked a message'));
      else if (--unconfirmed === 0) resolve();
    };
    if (unconfirmed === 0) resolve();
  });
  confirmed.catch(() => undefined); // observed by the caller; never an unhandled rejection
  return { onConfirm, confirmed };
}
