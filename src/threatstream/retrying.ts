import type { Logger } from '../log';
import { RetriesExhaustedError, isPermanent, withRetry, type RetryPolicy } from '../retry';
import { ThreatStreamRequestError } from './errors';
import type { RequestStatus } from './transport';

export interface RequestEvent {
  durationMs: number;
  status: RequestStatus;
  /** 1-based attempt number for this request. */
  attempt: number;
  /** Whether this attempt failed and another one follows. */
  retried: boolean;
}

export interface RetryingOptions {
  retry: RetryPolicy;
  logger: Logger;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRequest?: (event: RequestEvent) => void;
}

export interface RequestLabel {
  /** How a failure names the request, e.g. `ThreatStream request for type ip`. */
  name: string;
  /** Logged with each retry. */
  fields: Record<string, unknown>;
}

/**
 * One ThreatStream request under the retry policy: every attempt is told to `onRequest`, every
 * retry logged, and the last failure of a spent budget thrown as a ThreatStreamRequestError.
 */
export async function requestWithRetry<T>(
  options: RetryingOptions,
  label: RequestLabel,
  send: (signal: AbortSignal) => Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  const { retry, logger } = options;
  try {
    return await withRetry(retry, (attempt) => reported(options, attempt, send, signal), {
      signal,
      ...(options.sleep && { sleep: options.sleep }),
      onRetry: (error, attempt, delayMs) =>
        logger.warn('ThreatStream request failed; retrying', {
          ...label.fields,
          status: (error as ThreatStreamRequestError).status ?? 'network_error',
          reason: (error as Error).message,
          attempt,
          maxAttempts: retry.attempts,
          delayMs,
        }),
    });
  } catch (error) {
    if (!(error instanceof RetriesExhaustedError)) throw error;
    const last = error.cause as ThreatStreamRequestError;
    throw new ThreatStreamRequestError(
      `${label.name} failed after ${error.attempts} attempt(s): ${last.message}`,
      { status: last.status, cause: last.cause ?? last },
    );
  }
}

/** One HTTP attempt, told to `onRequest` whatever its outcome. */
async function reported<T>(
  options: RetryingOptions,
  attempt: number,
  send: (signal: AbortSignal) => Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  const started = performance.now();
  const report = (status: RequestStatus, retried: boolean) =>
    options.onRequest?.({ durationMs: performance.now() - started, status, attempt, retried });
  try {
    const result = await send(signal);
    report(200, false);
    return result;
  } catch (error) {
    if (signal.aborted) throw error;
    const { status } = error as { status?: number };
    const retried = !isPermanent(error) && attempt < options.retry.attempts;
    report(status ?? 'network_error', retried);
    throw error;
  }
}
