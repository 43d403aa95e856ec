import type { Config } from '../config';
import type { Logger } from '../log';
import { RETRY_POLICIES } from '../retry';
import { authorIdentity } from '../stix/author';
import type { ThreatModelSettings } from '../threatmodel/model-run';
import { ThreatStreamClient, type RequestEvent } from '../threatstream/client';
import { ThreatModelClient } from '../threatstream/model-client';
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

export function threatStreamClient(
  config: Config,
  logger: Logger,
  onRequest?: (event: RequestEvent) => void,
): ThreatStreamClient {
  const { anomali } = config;
  return new ThreatStreamClient({
    baseUrl: anomali.url,
    username: anomali.username,
    apiKey: anomali.api_key,
    sslVerify: anomali.ssl_verify,
    pageSize: anomali.page_size,
    timeoutMs: anomali.timeout * 1000,
    maxResponseBytes: anomali.max_response_mb * 1024 * 1024,
    retry: config.connector.dry_run ? RETRY_POLICIES.dryRunPage : RETRY_POLICIES.threatStreamPage,
    logger,
    ...(onRequest && { onRequest }),
  });
}

export function threatModelClient(
  config: Config,
  logger: Logger,
  onRequest?: (event: RequestEvent) => void,
): ThreatModelClient {
  const { anomali } = config;
  return new ThreatModelClient({
    baseUrl: anomali.url,
    username: anomali.username,
    apiKey: anomali.api_key,
    sslVerify: anomali.ssl_verify,
    timeoutMs: anomali.timeout * 1000,
    maxResponseBytes: anomali.max_response_mb * 1024 * 1024,
    retry: RETRY_POLICIES.threatStreamPage,
    logger,
    ...(onRequest && { onRequest }),
  });
}
