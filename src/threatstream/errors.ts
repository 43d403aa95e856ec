/** ThreatStream refused the credentials (401/403): a configuration problem, never retried. */
export class ThreatStreamAuthError extends Error {
  override readonly name = 'ThreatStreamAuthError';
  readonly permanent = true;

  constructor(readonly status: number) {
    super(
      `ThreatStream rejected the credentials (HTTP ${status}): check ANOMALI_USERNAME and ANOMALI_API_KEY`,
    );
  }
}

export interface RequestErrorDetails {
  /** The HTTP status received, if any. */
  status?: number | undefined;
  /** No later attempt can succeed: a refused request, a redirect, a TLS failure. */
  permanent?: boolean;
  /** The pause the server asked for (Retry-After). */
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

/** A ThreatStream request that failed: transient unless `permanent`, or with the retries spent. */
export class ThreatStreamRequestError extends Error {
  override readonly name = 'ThreatStreamRequestError';
  readonly status: number | undefined;
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: RequestErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.permanent = details.permanent ?? false;
    this.retryAfterMs = details.retryAfterMs;
  }
}
