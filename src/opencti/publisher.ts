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
  /**
   * A lost connection, a confirm timeout or unroutable messages: the same messages are re-sent.
   * Never a message over the broker's `max_message_size`: that fails the batch at once.
   */
  retry: RetryPolicy;
  /** The pauses while the broker refuses messages because the push queue is full. */
  backPressure: RetryPolicy;
  /** A batch whose confirms take longer than this (broker blocked, network stall) is re-sent. */
  confirmTimeoutMs: number;
  queueFull?: QueueFullListener;
}

/** Told while the push queue refuses messages, and once it takes them again. */
export interface QueueFullListener {
  /** The broker refused (nacked) `messages` messages: the queue is at its length limit. */
  refused(messages: number): void;
  /** A batch the broker had refused messages of is now wholly confirmed. */
  accepting(): void;
}

/** Logged before each re-send of a batch. */
export const RESEND_WARNING = 'RabbitMQ publish failed; reconnecting to re-send the whole batch';

export class PublishError extends Error {
  override name = 'PublishError';
}

/**
 * RabbitMQ closed the channel because a message exceeds its `max_message_size`. The same messages
 * would be refused again, so the batch fails at once instead of being re-sent.
 */
export class BrokerMessageSizeError extends PublishError {
  override name = 'BrokerMessageSizeError';
  readonly permanent = true;
}

/** The broker returned messages: the push queue is missing or unbound (the platform re-binds it on ping). */
class UnroutableError extends Error {
  override name = 'UnroutableError';
}

/** The broker nacked messages: a queue capped with `x-overflow: reject-publish` is full. */
class QueueFullError extends Error {
  override name = 'QueueFullError';

  constructor(
    readonly refused: number,
    batch: number,
  ) {
    super(`RabbitMQ refused ${refused} of ${batch} messages: the push queue is full`);
  }
}

/**
 * Publishes message batches to the connector's push exchange with publisher confirms. A batch
 * ends fully confirmed by the broker, or failed once a signal or the retries end it.
 * Messages the broker refuses because the push queue is full are back-pressure, not a failure:
 * they alone are re-sent, after pauses, for as long as the queue stays full, so that the queue
 * holds each message once and the work's expectations stay exact. After any other failure the
 * publisher reconnects and sends the messages of the failed try again, including any the broker
 * had confirmed: re-sends are upserts because every STIX id is deterministic.
 * Messages are `mandatory`, so a message the broker cannot route fails the batch instead of
 * silently vanishing (pycti does not do this; a deleted queue would otherwise eat indicators).
 */
export class AmqpPublisher {
  private connection: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  /** Whether the last batch had messages refused and is not yet wholly confirmed. */
  private refusing = false;
  /** Why the broker closed the current channel, if it did. */
  private channelClosedBy: Error | undefined;

  constructor(private readonly options: PublisherOptions) {}

  /**
   * Resolves once the broker has confirmed every message of the batch. Hands every message to
   * amqplib before returning to the event loop: on an open channel nothing is awaited first, so
   * the whole batch is queued by the time the caller resumes, and amqplib writes it out on the
   * next turn of the loop.
   */
  async publishBatch(bodies: readonly Buffer[], signal?: AbortSignal): Promise<void> {
    let unconfirmed = bodies;
    try {
      await withRetry(
        this.options.backPressure,
        async () => {
          unconfirmed = await this.deliver(unconfirmed, signal);
          if (unconfirmed.length > 0) throw new QueueFullError(unconfirmed.length, bodies.length);
        },
        {
          signal,
          retryIf: (error) => error instanceof QueueFullError,
          onRetry: (error, attempt, delayMs) =>
            this.waitForRoom(error as QueueFullError, attempt, delayMs),
        },
      );
    } catch (error) {
      if (error instanceof PublishError) throw error;
      throw new PublishError(
        `RabbitMQ still refused ${unconfirmed.length} of ${bodies.length} messages (push queue full) when stopped`,
        { cause: error },
      );
    }
    this.roomAgain();
  }

  /** Sends the messages until the broker answers each of them; returns those it refused. */
  private async deliver(bodies: readonly Buffer[], signal?: AbortSignal): Promise<Buffer[]> {
    const { retry, logger } = this.options;
    // Counted here too: an abort ends the retries without a RetriesExhaustedError.
    let attempts = 0;
    try {
      return await withRetry(
        retry,
        (attempt) => {
          attempts = attempt;
          return this.attempt(bodies, signal);
        },
        {
          signal,
          onRetry: (error, attempt, delayMs) => {
            logger.warn(RESEND_WARNING, {
              attempt,
              delay_ms: delayMs,
              messages: bodies.length,
              error: serializeError(error),
            });
          },
        },
      );
    } catch (error) {
      if (error instanceof BrokerMessageSizeError) throw error;
      throw new PublishError(
        `RabbitMQ did not confirm a batch of ${bodies.length} messages after ${attempts} attempts`,
        { cause: error instanceof RetriesExhaustedError ? error.cause : error },
      );
    }
  }

  private waitForRoom(error: QueueFullError, round: number, delayMs: number): void {
    this.refusing = true;
    this.options.queueFull?.refused(error.refused);
    const message =
      'RabbitMQ refused messages: the push queue is full; re-sending them after a pause';
    this.options.logger.warn(message, { refused: error.refused, round, delay_ms: delayMs });
  }

  private roomAgain(): void {
    if (!this.refusing) return;
    this.refusing = false;
    this.options.queueFull?.accepting();
    this.options.logger.info('RabbitMQ took every refused message; the push queue has room again');
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    if (connection) await connection.close().catch(() => undefined);
  }

  /** One try at the whole batch; a failed try drops the connection so that the next reconnects. */
  private async attempt(
    bodies: readonly Buffer[],
    signal: AbortSignal | undefined,
  ): Promise<Buffer[]> {
    try {
      const channel = this.channel ?? (await this.openChannel());
      return await this.publishOnce(channel, bodies, signal);
    } catch (error) {
      const refusedForSize = sizeRejection(this.channelClosedBy);
      await this.close();
      throw refusedForSize ?? error;
    }
  }

  private async openChannel(): Promise<ConfirmChannel> {
    const { broker } = this.options;
    const connection = await amqp.connect(
      {
        protocol: broker.tls ? 'amqps' : 'amqp',
        hostname: broker.hostname,
        port: broker.port,
        username: broker.username,
        password: broker.password,
        vhost: broker.vhost,
        heartbeat: 10,
      },
      socketOptions(broker),
    );
    this.watchConnection(connection);
    const channel = await connection.createConfirmChannel();
    this.watchChannel(channel);
    this.connection = connection;
    this.channel = channel;
    return channel;
  }

  /** An 'error' event without a listener would crash the process; failures surface through publishing. */
  private watchConnection(connection: ChannelModel): void {
    const { logger } = this.options;
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
  }

  /** Remembers why the broker closed the channel: a message over its size limit is not re-sent. */
  private watchChannel(channel: ConfirmChannel): void {
    this.channelClosedBy = undefined;
    channel.on('error', (error: Error) => {
      this.channelClosedBy = error;
      this.options.logger.warn('RabbitMQ channel error', { error: serializeError(error) });
    });
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
  }

  /** Publishes the batch once; returns the messages the broker refused. */
  private async publishOnce(
    channel: ConfirmChannel,
    bodies: readonly Buffer[],
    signal: AbortSignal | undefined,
  ): Promise<Buffer[]> {
    const { exchange, routingKey, confirmTimeoutMs } = this.options;
    let returned = 0;
    const onReturn = () => returned++;
    const { interrupted, release } = batchInterruption(channel, confirmTimeoutMs, signal);
    const { onConfirm, answered } = batchConfirms(bodies.length);
    channel.on('return', onReturn);
    try {
      for (const [index, body] of bodies.entries()) {
        const confirm = (error: unknown) => onConfirm(index, error);
        // Honour the socket's back-pressure: without it a large run buffers every message in memory.
        if (!channel.publish(exchange, routingKey, body, PUBLISH_OPTIONS, confirm)) {
          await Promise.race([once(channel, 'drain'), interrupted]);
        }
      }
      const refused = await Promise.race([answered, interrupted]);
      if (returned > 0) {
        throw new UnroutableError(
          `RabbitMQ could not route ${returned} of ${bodies.length} messages to ${exchange}/${routingKey}`,
        );
      }
      return refused.map((index) => bodies[index]!);
    } finally {
      release();
      channel.off('return', onReturn);
    }
  }
}

function socketOptions(broker: BrokerSettings): SocketOptions {
  const { tls } = broker;
  return {
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
 * Confirm tracking for a batch of `count` messages. amqplib calls each message's callback once:
 * with null on an ack, with an error on a nack, and with another error when the channel closes
 * first. `answered` resolves, once every message is answered, with the indexes of the nacked
 * ones in batch order; it rejects on any other error.
 */
function batchConfirms(count: number): {
  onConfirm: (index: number, error: unknown) => void;
  answered: Promise<number[]>;
} {
  let unanswered = count;
  const nacked: number[] = [];
  let onConfirm: (index: number, error: unknown) => void = () => undefined;
  const answered = new Promise<number[]>((resolve, reject) => {
    onConfirm = (index, error) => {
      if (isNack(error)) nacked.push(index);
      else if (error instanceof Error) return reject(error);
      else if (error !== null && error !== undefined)
        return reject(new Error('RabbitMQ did not confirm a message'));
      if (--unanswered === 0) resolve(nacked.sort((a, b) => a - b));
    };
    if (unanswered === 0) resolve(nacked);
  });
  answered.catch(() => undefined); // observed by the caller; never an unhandled rejection
  return { onConfirm, answered };
}

/**
 * amqplib's error for a nacked message; its only other error is a closed channel. RabbitMQ nacks
 * what a full queue refuses (`x-overflow: reject-publish`), or after an internal queue error.
 */
function isNack(error: unknown): boolean {
  return error instanceof Error && error.message === 'message nacked';
}

/**
 * The typed error for RabbitMQ's channel close on a message over its `max_message_size`: code 406
 * (PRECONDITION_FAILED) with "message size N is larger than ... max size M".
 */
export function sizeRejection(closedBy: Error | undefined): BrokerMessageSizeError | undefined {
  if (closedBy === undefined || (closedBy as { code?: unknown }).code !== 406) return undefined;
  const sizes = /message size (\d+) is larger than .*max size (\d+)/.exec(closedBy.message);
  if (sizes === null) return undefined;
  const [, size, limit] = sizes;
  return new BrokerMessageSizeError(
    `RabbitMQ refused a message of ${size} bytes: its max_message_size is ${limit} bytes. ` +
      'The connector keeps every message within MQ_MAX_MESSAGE_MB (mq.max_message_mb), so the ' +
      "broker's limit is below that setting: lower MQ_MAX_MESSAGE_MB under the broker's limit, " +
      "or raise the broker's max_message_size. The batch was not re-sent",
    { cause: closedBy },
  );
}
