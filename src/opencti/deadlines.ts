/**
 * How long OpenCTI gets to answer each call, answer included. A ping is short: one goes out
 * every 40 s and the next one carries the same state. A bundle push uploads megabytes.
 */
export const OPENCTI_TIMEOUTS_MS = {
  HealthCheck: 30_000,
  RegisterConnector: 60_000,
  PingConnector: 20_000,
  ConnectorQueueDetails: 30_000,
  WorkAdd: 30_000,
  WorkAddExpectations: 30_000,
  WorkToProcessed: 30_000,
  StixBundlePush: 120_000,
  IndicatorsHeld: 30_000,
  RegisterConnectorInputFields: 30_000,
} as const;

export type OpenCtiOperation = keyof typeof OPENCTI_TIMEOUTS_MS;

/**
 * What a call may still wait once the connector stops, whether it was in flight or made later
 * (closing the work, the last ping): a stopping connector exits within seconds whatever
 * OpenCTI does, and a healthy OpenCTI answers well within this.
 */
export const STOPPING_TIMEOUT_MS = 2000;

export interface CallDeadline {
  /** Aborts when the call must be given up. */
  signal: AbortSignal;
  /** Aborts when the call's own time limit ran out, rather than the stop's. */
  timeout: AbortSignal;
  timeoutMs: number;
}

/** The deadlines of calls to OpenCTI: each call's own time limit, cut short by the stop. */
export class CallDeadlines {
  /** Aborts STOPPING_TIMEOUT_MS after the stop, for the calls in flight at that moment. */
  private readonly stopGrace: AbortSignal | undefined;

  constructor(private readonly stop: AbortSignal | undefined) {
    this.stopGrace = stop && abortsAfter(stop, STOPPING_TIMEOUT_MS);
  }

  /** The deadline of a call starting now. */
  forCall(timeoutMs: number): CallDeadline {
    const stopping = this.stop?.aborted === true;
    const limit = stopping ? Math.min(timeoutMs, STOPPING_TIMEOUT_MS) : timeoutMs;
    const timeout = AbortSignal.timeout(limit);
    const signal =
      this.stopGrace === undefined || stopping
        ? timeout
        : AbortSignal.any([timeout, this.stopGrace]);
    return { signal, timeout, timeoutMs: limit };
  }
}

function abortsAfter(signal: AbortSignal, delayMs: number): AbortSignal {
  const controller = new AbortController();
  signal.addEventListener(
    'abort',
    () => setTimeout(() => controller.abort(signal.reason), delayMs).unref(),
    { once: true },
  );
  return controller.signal;
}
