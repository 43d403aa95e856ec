import { once } from 'node:events';
import { isIP, Socket } from 'node:net';
import amqp, { type ChannelModel, type ConfirmChannel, type SocketOptions } from 'amqplib';
import { RetriesExhaustedError, withRetry, type RetryPolicy } from '../retry';
import { afterQueuedIo } from '../io';
import { serializeError, type Logger } from '../log';

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
    const attempt = async () => {
      try {
        await this.publishOnce(this.channel ?? (await this.openChannel()), bodies, signal);
      } catch (error) {
        await this.close();
        throw error;
      }
    };
    try {
      await withRetry(retry, attempt, {
        signal,
        onRetry: (error, failed, delayMs) =>
          logger.warn('RabbitMQ publish failed; reconnecting to re-send the whole batch', {
            attempt: failed,
            delay_ms: delayMs,
            messages: bodies.length,
            error: serializeError(error),
          }),
      });
    } catch (error) {
      const attempts = error instanceof RetriesExhaustedError ? error.attempts : 1;
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

  private async openChannel(): Promise<ConfirmChannel> {
    const { broker, logger } = this.options;
    const tls = broker.tls;
    // net.connect and tls.connect hand highWaterMark to the socket; amqplib's type leaves it out.
    const socketOptions: SocketOptions & { highWaterMark: number } = {
      highWaterMark: SOCKET_HIGH_WATER_MARK,
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
    const stop = new AbortController();
    const onClose = () => stop.abort(new Error('RabbitMQ channel closed during the batch'));
    const timer = setTimeout(
      () => stop.abort(new Error(`RabbitMQ confirms took longer than ${confirmTimeoutMs} ms`)),
      confirmTimeoutMs,
    );
    const stopped = new Promise<never>((_, reject) => {
      stop.signal.addEventListener('abort', () => reject(stop.signal.reason as Error));
    });
    stopped.catch(() => undefined); // observed below; never an unhandled rejection
    const onAbort = () => stop.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    const { onConfirm, confirmed } = batchConfirms(bodies.length);
    channel.on('return', onReturn);
    channel.once('close', onClose);
    const uncork = corkSocket(channel);
    try {
      for (const body of bodies) {
        const hasRoom = channel.publish(exchange, routingKey, body, PUBLISH_OPTIONS, onConfirm);
        // Honour back-pressure: without it a large run buffers every message in memory. amqplib's
        // buffer drains only into a socket that may write.
        if (!hasRoom) {
          uncork();
          await Promise.race([once(channel, 'drain'), stopped]);
        }
      }
      void afterQueuedIo().then(uncork);
      await Promise.race([confirmed, stopped]);
      if (returned > 0) {
        throw new UnroutableError(
          `RabbitMQ could not route ${returned} of ${bodies.length} messages to ${exchange}/${routingKey}`,
        );
      }
    } finally {
      uncork();
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      channel.off('return', onReturn);
      channel.off('close', onClose);
    }
  }
}

/**
 * Room in the socket's buffer for a whole corked batch (about 1 MB of 500 indicators). Above it,
 * amqplib stops writing until the socket drains, after the uncork, and the rest of the batch
 * leaves a frame at a time.
 */
const SOCKET_HIGH_WATER_MARK = 8 * 1024 * 1024;

/**
 * Corks amqplib's socket while a batch is handed over, and returns the function that uncorks it
 * (once, whenever called). amqplib writes each message to the socket on its own, a system call
 * each; corked, the batch leaves in one `writev`. amqplib keeps its socket on the connection's
 * `stream` without declaring it: should a version not, batches go out uncorked, as before.
 */
function corkSocket(channel: ConfirmChannel): () => void {
  const { stream } = channel.connection as { stream?: unknown };
  if (!(stream instanceof Socket)) return () => undefined;
  stream.cork();
  let corked = true;
  return () => {
    if (corked) stream.uncork();
    corked = false;
  };
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
