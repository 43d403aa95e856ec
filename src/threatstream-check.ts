import { FatalError } from './fatal';
import type { Logger } from './log';
import { isPermanent } from './retry';
import { ThreatStreamAuthError } from './threatstream/client';
import type { ThreatStreamTransport } from './threatstream/transport';

/** ThreatStream cannot be used as configured: the connector stops before its first run. */
export class ThreatStreamAccessError extends FatalError {
  override name = 'ThreatStreamAccessError';
}

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** What only a configuration change can fix, as one line naming the setting; else undefined. */
function unhealable(error: unknown, url: string): string | undefined {
  if (error instanceof ThreatStreamAuthError) return error.message;
  const code = errorCode(error);
  if (code === 'ENOTFOUND') return `ThreatStream host of ${url} not found: fix ANOMALI_URL`;
  if (code === 'ECONNREFUSED') return `${url} refused the connection: fix ANOMALI_URL`;
  if (isPermanent(error)) return `${(error as Error).message} (ANOMALI_URL is ${url})`;
  return undefined;
}

/**
 * One request before the first run. A wrong name, a closed port or refused credentials end the
 * process in seconds (ThreatStreamAccessError); anything that may heal is left to the run's
 * retries, so that a daemon started during a ThreatStream outage still waits for it.
 */
export async function checkThreatStreamAccess(
  transport: Pick<ThreatStreamTransport, 'probe'>,
  url: string,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  try {
    await transport.probe(signal);
  } catch (error) {
    if (signal.aborted) throw error;
    const reason = unhealable(error, url);
    if (reason !== undefined) throw new ThreatStreamAccessError(reason, { cause: error });
    logger.warn('ThreatStream start-up check failed; the run will retry', {
      reason: (error as Error).message,
    });
  }
}
