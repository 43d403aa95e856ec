import type { Config } from '../config';
import type { Logger } from '../log';
import { RETRY_POLICIES } from '../retry';
import { authorIdentity } from '../stix/author';
import type { ThreatModelSettings } from '../threatmodel/model-run';
import { ThreatStreamClient, type RequestEvent } from '../threatstream/client';
import { ThreatModelClient } from '../threatstream/model-client';
import { ThreatStreamTransport, type TransportOptions } from '../threatstream/transport';
import type { RunSettings } from './run';

/** What a run needs to know of the configuration, for the daemon and the dry run alike. */
export function runSettings(config: Config): RunSettings {
  const { anomali } = config;
  const convert = {
    author: authorIdentity(config.connector.author),
    defaultTlp: anomali.tlp,
    createObservables: anomali.create_observables,
    uiUrl: anomali.ui_url,
    validUntil: anomali.valid_until,
  };
  return {
    connectorName: config.connector.name,
    types: anomali.types,
    importStart: anomali.import_start,
    stabilityDelayMs: anomali.stability_delay * 1000,
    minConfidence: anomali.min_confidence,
    feedIds: anomali.feed_ids,
    trustedCircleIds: anomali.trusted_circle_ids,
    convert,
    threatModels: threatModelSettings(config, convert),
  };
}

/** Linked IOCs pass the same filters as the IOC import, and convert with the same options. */
function threatModelSettings(
  { anomali }: Config,
  convert: RunSettings['convert'],
): ThreatModelSettings {
  return {
    types: anomali.threat_model_types,
    maxPerRun: anomali.model_max_per_run,
    mapping: {
      author: convert.author,
      defaultTlp: anomali.tlp,
      uiUrl: anomali.ui_url,
      actorAs: anomali.actor_as,
    },
    convert,
    iocFilters: {
      types: anomali.types,
      minConfidence: anomali.min_confidence,
      feedIds: anomali.feed_ids,
      trustedCircleIds: anomali.trusted_circle_ids,
    },
  };
}

/** How to reach ThreatStream; every client, and the start-up check, use the same. */
function transportOptions({ anomali }: Config): TransportOptions {
  return {
    baseUrl: anomali.url,
    username: anomali.username,
    apiKey: anomali.api_key,
    sslVerify: anomali.ssl_verify,
    timeoutMs: anomali.timeout * 1000,
    maxResponseBytes: anomali.max_response_mb * 1024 * 1024,
  };
}

/** A dry run is how a user checks a configuration: it gives up quickly. */
const retryPolicy = (config: Config) =>
  config.connector.dry_run ? RETRY_POLICIES.dryRunPage : RETRY_POLICIES.threatStreamPage;

/** One ThreatStream request, for the start-up check. */
export function threatStreamTransport(config: Config): ThreatStreamTransport {
  return new ThreatStreamTransport(transportOptions(config));
}

export function threatStreamClient(
  config: Config,
  logger: Logger,
  onRequest?: (event: RequestEvent) => void,
): ThreatStreamClient {
  return new ThreatStreamClient({
    ...transportOptions(config),
    pageSize: config.anomali.page_size,
    retry: retryPolicy(config),
    logger,
    ...(onRequest && { onRequest }),
  });
}

export function threatModelClient(
  config: Config,
  logger: Logger,
  onRequest?: (event: RequestEvent) => void,
): ThreatModelClient {
  return new ThreatModelClient({
    ...transportOptions(config),
    retry: retryPolicy(config),
    logger,
    ...(onRequest && { onRequest }),
  });
}
