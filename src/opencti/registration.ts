import type { Config } from '../config';
import { serializeError, type Logger } from '../log';
import { RETRY_POLICIES, withRetry } from '../retry';
import { OpenCtiGraphQLError, type OpenCtiApi, type Registration } from './api';
import { connectionProblem } from './connection-problem';

type RegistrationApi = Pick<
  OpenCtiApi,
  'healthCheck' | 'registerConnectorInputFields' | 'registerConnector'
>;

/** How the connector is known in OpenCTI's connector catalogue. */
export const CONNECTOR_SLUG = 'anomali-threatstream';

export interface RegistrationOptions {
  /** OPENCTI_URL, to name it in the messages. */
  url: string;
  connector: Pick<Config['connector'], 'id' | 'name' | 'scope'>;
  /** The connector's own version, for platforms that record it. */
  version: string;
  logger: Logger;
  signal: AbortSignal;
  /** Told whether OpenCTI answered, after every attempt. */
  reachable: (ok: boolean) => void;
}

/** What newer 7.x platforms accept beside pycti 6.8's fields; older ones refuse the whole input. */
type Metadata = { version?: string; slug?: string };

export class RegistrationRefusedError extends Error {
  override name = 'RegistrationRefusedError';
  readonly permanent = true;
}

/** The platform at OPENCTI_URL answers, but not as OpenCTI, or its TLS cannot be trusted. */
export class OpenCtiUnusableError extends Error {
  override name = 'OpenCtiUnusableError';
  readonly permanent = true;
}

/**
 * Health check then registration, retried with backoff while OpenCTI is starting or unreachable.
 * Which metadata the platform accepts is asked once, after the first health check that answers.
 */
export function register(
  api: RegistrationApi,
  options: RegistrationOptions,
): Promise<Registration> {
  const { logger, signal } = options;
  let metadata: Promise<Metadata> | undefined;
  const accepted = () => (metadata ??= acceptedMetadata(api, options));
  return withRetry(RETRY_POLICIES.openCtiRegistration, () => registerOnce(api, options, accepted), {
    signal,
    onRetry: (error, attempt, delayMs) => {
      const { summary } = connectionProblem(error, options.url);
      logger.warn('OpenCTI is not reachable yet; retrying', {
        reason: summary,
        attempt,
        retry_in_s: Math.round(delayMs / 1000),
      });
      logger.debug('OpenCTI call failed', { error: serializeError(error) });
    },
  });
}

/**
 * `version` and `slug`, each only when the platform's RegisterConnectorInput lists it (pycti 7
 * sends both only when both are listed; each on its own is as safe, and no listed field is
 * refused). When the platform will not say, neither.
 */
async function acceptedMetadata(
  api: RegistrationApi,
  { version, logger }: RegistrationOptions,
): Promise<Metadata> {
  let fields: ReadonlySet<string>;
  try {
    fields = await api.registerConnectorInputFields();
  } catch (error) {
    logger.warn(
      'OpenCTI did not list its registration fields; registering without version and slug',
      {
        error: serializeError(error),
      },
    );
    return {};
  }
  return {
    ...(fields.has('version') && { version }),
    ...(fields.has('slug') && { slug: CONNECTOR_SLUG }),
  };
}

async function registerOnce(
  api: RegistrationApi,
  { url, connector, logger, reachable }: RegistrationOptions,
  accepted: () => Promise<Metadata>,
): Promise<Registration> {
  try {
    const platformVersion = await api.healthCheck();
    const metadata = await accepted();
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
      ...metadata,
    });
    logger.info('Registered with OpenCTI', {
      platform_version: platformVersion,
      connector_id: registration.id,
      metadata_sent: Object.keys(metadata),
    });
    reachable(true);
    return registration;
  } catch (error) {
    reachable(false);
    if (error instanceof OpenCtiGraphQLError && error.permanent) {
      throw new RegistrationRefusedError('OpenCTI rejected the token: check OPENCTI_TOKEN', {
        cause: error,
      });
    }
    const problem = connectionProblem(error, url);
    if (problem.permanent) throw new OpenCtiUnusableError(problem.summary, { cause: error });
    throw error;
  }
}
