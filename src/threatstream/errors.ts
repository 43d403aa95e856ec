/** ThreatStream refused the credentials (401/403): a configuration problem, never retried. */
export class ThreatStreamAuthError extends Error {
  override readonly name = 'ThreatStreamAuthError';
  readonly status: number;

  constructor(status: number) {
    super(
      `ThreatStream rejected the credentials (HTTP ${status}): check ANOMALI_USERNAME and ANOMALI_API_KEY`,
    );
    this.status = status;
  }
}

/** A request that failed for good: a non-retryable answer, or the retry budget spent. */
export class ThreatStreamRequestError extends Error {
  override readonly name = 'ThreatStreamRequestError';
  /** The last HTTP status received, if any. */
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
  }
}
