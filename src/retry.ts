import { setTimeout as delay } from 'node:timers/promises';

/**
 * How an operation is retried. A failure is tried again unless it is permanent (see
 * `isPermanent`), the caller's `retryIf` refuses it, or the caller's signal ended the wait; a
 * failure that carries `retryAfterMs` (an HTTP Retry-After) is retried after that pause instead
 * of the backoff.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included; Infinity retries until the signal stops it. */
  readonly attempts: number;
  /** The pause after the first failure; it doubles after each failure up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Every retry policy of the connector, in one place. */
export const RETRY_POLICIES = {
  /** A ThreatStream page: 408, 429, 5xx, timeouts, resets and unreadable bodies are transient. */
  threatStreamPage: { attempts: 8, baseDelayMs: 1000, maxDelayMs: 60_000 },
  /** The same in a dry run, which checks an account and its filters: an answer within seconds. */
  dryRunPage: { attempts: 3, baseDelayMs: 1000, maxDelayMs: 4000 },
  /** Health check and registration: OpenCTI may still be starting, so only a stop ends it. */
  openCtiRegistration: { attempts: Infinity, baseDelayMs: 2000, maxDelayMs: 60_000 },
  /**
   * A batch to RabbitMQ: a lost connection, a confirm timeout or unroutable messages re-send it;
   * a message over the broker's `max_message_size` fails it at once.
   */
  brokerBatch: { attempts: 10, baseDelayMs: 1000, maxDelayMs: 30_000 },
  /** Messages RabbitMQ refused because the push queue is full: a wait only a stop ends. */
  brokerBackPressure: { attempts: Infinity, baseDelayMs: 5000, maxDelayMs: 30_000 },
  /** Which indicators OpenCTI holds, before sending revocations; unverified after that. */
  openCtiLookup: { attempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 },
  /** A bundle through `stixBundlePush`, when the queue protocol is `api`. */
  apiBundle: { attempts: 10, baseDelayMs: 1000, maxDelayMs: 30_000 },
} as const satisfies Record<string, RetryPolicy>;

/** A server asking for a longer pause than this is treated as asking for this. */
const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

/** What a failure may say about retrying it. */
interface RetryHints {
  /** No later attempt can succeed (wrong credentials, a request the server refuses as such). */
  permanent?: boolean;
  /** The pause the server asked for. */
  retryAfterMs?: number;
}

export function isPermanent(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if ((e as RetryHints).permanent === true) return true;
  }
  return false;
}

/** The last failure of an operation that used up its attempts. */
export class RetriesExhaustedError extends Error {
  override readonly name = 'RetriesExhaustedError';

  constructor(
    readonly attempts: number,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`failed after ${attempts} attempt(s): ${reason}`, { cause });
  }
}

export interface RetryOptions {
  /** Ends the wait between attempts; the operation itself should honour it too. */
  signal?: AbortSignal | undefined;
  /** Only the failures it accepts are retried; any other ends the operation at once. */
  retryIf?: (error: unknown) => boolean;
  /** Told before each pause, with the 1-based number of the attempt that failed. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** For tests: a pause that records instead of waiting. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/**
 * Runs `operation` until it succeeds, fails permanently, or has used the policy's attempts
 * (then RetriesExhaustedError, its cause the last failure). An abort during a pause rejects with
 * the signal's reason.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const pause = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (options.signal?.aborted || isPermanent(error)) throw error;
      if (options.retryIf?.(error) === false) throw error;
      if (attempt >= policy.attempts) throw new RetriesExhaustedError(attempt, error);
      const delayMs = retryDelayMs(policy, attempt, error, options.random);
      options.onRetry?.(error, attempt, delayMs);
      await pause(delayMs, options.signal);
    }
  }
}

/**
 * The pause after failed attempt `attempt` (1-based): the server's Retry-After when given, else
 * exponential backoff, half fixed and half random so that connectors sharing an egress IP spread.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  error?: unknown,
  random: () => number = Math.random,
): number {
  const { retryAfterMs } = (error ?? {}) as RetryHints;
  if (typeof retryAfterMs === 'number') return Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Reads a Retry-After header: delta-seconds or an HTTP date. Unreadable values are ignored. */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d{1,9}$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it is aborted. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
}
