import { backoffDelay, type RetryPolicy } from '../backoff';

/** A server asking for a longer pause than this is treated as asking for this. */
const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

/** The pause before the retry that follows failed attempt `attempt` (1-based): the server's Retry-After when given, else backoff. */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  policy: RetryPolicy,
): number {
  return retryAfterMs ?? backoffDelay(attempt - 1, policy);
}

/** Reads a Retry-After header: delta-seconds or an HTTP date. Unreadable values are ignored. */
export function parseRetryAfter(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - Date.now()), MAX_RETRY_AFTER_MS);
}
