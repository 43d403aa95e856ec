import { OpenCtiGraphQLError } from './opencti/api';
import { ThreatStreamAuthError } from './threatstream/errors';

/** A problem only a configuration change can fix: the daemon exits on it. */
export class FatalError extends Error {
  override name = 'FatalError';
  readonly permanent = true;
}

/** The wrong-credentials family: retrying cannot help, so the daemon exits with a clear message. */
export function isFatal(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof ThreatStreamAuthError || e instanceof FatalError) return true;
    if (e instanceof OpenCtiGraphQLError && e.permanent) return true;
  }
  return false;
}
