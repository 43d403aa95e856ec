import type { Config } from '../config';
import { serializeError, type Logger } from '../log';
import { RETRY_POLICIES, withRetry } from '../retry';
import { OpenCtiGraphQLError, type OpenCtiApi, type Registration } from './api';

type RegistrationApi = Pick<OpenCtiApi, 'healthCheck' | 'registerConnector'>;

export interface RegistrationOptions {
  connector: Pick<Config['connector'], 'id' | 'name' | 'scope'>;
  logger: Logger;
  signal: AbortSignal;
  /** Told whether OpenCTI answered, after every attempt. */
  reachable: (ok: boolean) => void;
}

export class RegistrationRefusedError extends Error {
  override name = 'RegistrationRefusedError';
  readonly permanent = true;
}

/** Health check then registration, retried with backoff while OpenCTI is starting or unreachable. */
export function register(
  api: RegistrationApi,
  options: RegistrationOptions,
): Promise<Registration> {
  const { logger, signal } = options;
  return withRetry(RETRY_POLICIES.openCtiRegistration, () => registerOnce(api, options), {
    signal,
    onRetry: (error, attempt, delayMs) =>
      logger.warn('OpenCTI is not reachable yet; retrying', {
        attempt,
        retry_in_s: Math.round(delayMs / 1000),
        error: serializeError(error),
      }),
  });
}

async function registerOnce(
  api: RegistrationApi,
  { connector, logger, reachable }: RegistrationOptions,
): Promise<Registration> {
  try {
    const version = await api.healthCheck();
    const registration = await api.registerConnector({
      id: connector.id,
      name: connector.name,
      type: 'EXTERNAL_IMPORT',
      scope: connector.scope,
      auto: false,
      only_contextual: false,
      playbook_compatible: false,
      // Platforms since 6.8.9 require both.
      auto_update: false,
      enrichment_resolution: 'none',
      listen_callback_uri: null,
    });
    logger.info('Registered with OpenCTI', {
      platform_version: version,
      connector_id: registration.id,
    });
    reachable(true);
    return registration;
  } catch (error) {
    reachable(false);
    if (!(error instanceof OpenCtiGraphQLError && error.permanent)) throw error;
    throw new RegistrationRefusedError('OpenCTI rejected the token: check OPENCTI_TOKEN', {
      cause: error,
    });
  }
}
