import { backoffDelay, sleep } from './backoff';
import type { Config } from './config';
import { runOnce, type RunDependencies, type RunSettings, type RunSignals } from './connector/run';
import { QueueGate } from './connector/queue-gate';
import { schedule } from './connector/scheduler';
import { serializeError, type Logger } from './log';
import {
  OpenCtiApi,
  OpenCtiGraphQLError,
  type ConnectorInfo,
  type Registration,
} from './opencti/api';
import { brokerSettings } from './opencti/broker';
import { Heartbeat } from './opencti/heartbeat';
import { AmqpPublisher } from './opencti/publisher';
import { hasCursors, parseState } from './opencti/state';
import { Works } from './opencti/works';
import { AmqpSink } from './sinks/amqp-sink';
import { ApiSink } from './sinks/api-sink';
import type { BundleSink } from './sinks/sink';
import { Metrics } from './observability/metrics';
import { startObservabilityServer } from './observability/server';
import { ConnectorStatus } from './observability/status';
import { authorIdentity } from './stix/author';
import {
  ThreatStreamAuthError,
  ThreatStreamClient,
  type RequestEvent,
} from './threatstream/client';

const PING_INTERVAL_MS = 40_000;
/** A queue size below the threshold is re-read at most this often between batches. */
const QUEUE_READING_FRESH_MS = 2000;
/** OpenCTI error names that mean the token is wrong or lacks the connector capability. */
const OPENCTI_AUTH_ERRORS = new Set([
  'AUTH_REQUIRED',
  'FORBIDDEN_ACCESS',
  'ForbiddenAccess',
  'AuthRequired',
]);

export class FatalError extends Error {
  override name = 'FatalError';
}

/** The wrong-credentials family: retrying cannot help, so the daemon exits with a clear message. */
export function isFatal(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof ThreatStreamAuthError || e instanceof FatalError) return true;
    if (e instanceof OpenCtiGraphQLError && OPENCTI_AUTH_ERRORS.has(e.errorName)) return true;
  }
  return false;
}

export function runSettings(config: Config): RunSettings {
  return {
    connectorName: config.connector.name,
    types: config.anomali.types,
    importStart: config.anomali.import_start,
    stabilityDelayMs: config.anomali.stability_delay * 1000,
    minConfidence: config.anomali.min_confidence,
    feedIds: config.anomali.feed_ids,
    trustedCircleIds: config.anomali.trusted_circle_ids,
    convert: {
      author: authorIdentity(config.connector.author),
      defaultTlp: config.anomali.tlp,
      createObservables: config.anomali.create_observables,
      uiUrl: config.anomali.ui_url,
    },
  };
}

export function threatStreamClient(
  config: Config,
  logger: Logger,
  onRequest?: (event: RequestEvent) => void,
): ThreatStreamClient {
  const a = config.anomali;
  return new ThreatStreamClient({
    baseUrl: a.url,
    username: a.username,
    apiKey: a.api_key,
    sslVerify: a.ssl_verify,
    pageSize: a.page_size,
    timeoutMs: a.timeout * 1000,
    maxResponseBytes: a.max_response_mb * 1024 * 1024,
    retry: { maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 60_000 },
    logger,
    ...(onRequest && { onRequest }),
  });
}

/** Health check then registration, retried with backoff while OpenCTI is starting or unreachable. */
async function register(
  api: OpenCtiApi,
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  reachable: (ok: boolean) => void,
): Promise<Registration> {
  for (let attempt = 0; ; attempt++) {
    try {
      const version = await api.healthCheck();
      const registration = await api.registerConnector({
        id: config.connector.id,
        name: config.connector.name,
        type: 'EXTERNAL_IMPORT',
        scope: config.connector.scope,
        auto: false,
        only_contextual: false,
        playbook_compatible: false,
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
      if (isFatal(error)) {
        throw new FatalError('OpenCTI rejected the token: check OPENCTI_TOKEN', { cause: error });
      }
      if (signal.aborted) throw error;
      const delayMs = backoffDelay(attempt, { baseDelayMs: 2000, maxDelayMs: 60_000 });
      logger.warn('OpenCTI is not reachable yet; retrying', {
        attempt: attempt + 1,
        retry_in_s: Math.round(delayMs / 1000),
        error: serializeError(error),
      });
      await sleep(delayMs, signal);
    }
  }
}

const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The connector daemon: registers with OpenCTI, keeps the heartbeat, and schedules runs until
 * a signal stops it. Resolves with the process exit code.
 */
export async function runDaemon(
  config: Config,
  logger: Logger,
  signals: RunSignals,
  /** The logger's redaction list; the broker password OpenCTI hands out is added to it. */
  secrets: string[],
): Promise<number> {
  const { connector } = config;
  const metrics = new Metrics();
  let heartbeat: Heartbeat | undefined;
  const status = new ConnectorStatus(() => heartbeat?.load().state.cursors ?? {});
  // Up before registration, so the container healthcheck can tell "waiting for OpenCTI".
  const server = connector.expose_metrics
    ? await startObservabilityServer({
        port: connector.metrics_port,
        registry: metrics.registry,
        status,
        secrets,
        logger,
      })
    : null;
  try {
    const api = new OpenCtiApi({
      url: config.opencti.url,
      token: config.opencti.token,
      sslVerify: config.opencti.ssl_verify,
      stop: signals.stop,
      logger,
    });
    let registration: Registration;
    try {
      registration = await register(api, config, logger, signals.stop, (reachable) => {
        status.openCtiReachable = reachable;
      });
    } catch (error) {
      if (signals.stop.aborted) return 0;
      logger.error('Cannot start', { error: serializeError(error) });
      return 1;
    }

    secrets.push(registration.config.connection.pass);
    const stored = parseState(registration.connectorState);
    if (!stored.ok) {
      logger.warn('Ignoring the stored connector state; every IOC type starts cold', {
        problem: stored.problem,
      });
    }
    const initialState = stored.ok ? stored.state : { cursors: {} };
    const once = connector.run_and_terminate || connector.duration_period === 0;
    const info: ConnectorInfo = {
      run_and_terminate: once,
      buffering: false,
      queue_threshold: connector.queue_threshold,
      queue_messages_size: 0,
      next_run_datetime: null,
      last_run_datetime: null,
    };
    const beat = new Heartbeat({
      api,
      connectorId: connector.id,
      logger,
      intervalMs: PING_INTERVAL_MS,
      initialState,
      remoteHasState: hasCursors(initialState),
      info,
      stop: signals.stop,
      onPing: (ok) => {
        metrics.pings.inc();
        if (!ok) metrics.pingErrors.inc();
        status.openCtiReachable = ok;
      },
    });
    heartbeat = beat;
    if (!once) beat.start();

    const sink = createSink(config, api, registration, logger);
    const deps: RunDependencies = {
      client: threatStreamClient(config, logger, (event) => metrics.request(event)),
      sink,
      state: beat,
      works: new Works(api, connector.id, logger),
      queueGate: new QueueGate({
        api,
        connectorId: connector.id,
        thresholdMb: connector.queue_threshold,
        checkIntervalMs: connector.queue_check_interval * 1000,
        freshForMs: QUEUE_READING_FRESH_MS,
        logger,
        report: (sizeMb, buffering) => {
          info.queue_messages_size = sizeMb;
          status.queueSizeMb = sizeMb;
          status.buffering = buffering;
          metrics.queueSize.set(sizeMb);
          metrics.buffering.set(buffering ? 1 : 0);
          if (info.buffering !== buffering) {
            info.buffering = buffering;
            void beat.ping();
          }
        },
      }),
      logger,
      now: () => new Date(),
      observer: metrics,
    };
    const settings = runSettings(config);

    try {
      return await schedule(
        {
          periodMs: connector.duration_period,
          runAndTerminate: connector.run_and_terminate,
          run: async (runSignals) => {
            // A ping first, so that a reset made in the UI since the last ping applies to this run.
            await beat.ping();
            return runOnce(deps, settings, runSignals);
          },
          isFatal,
          logger,
          onRunStart: () => {
            metrics.runs.inc();
            metrics.setState('running');
            status.running = true;
          },
          onRunEnd: ({ summary, error, nextRunAt }) => {
            const now = new Date();
            info.last_run_datetime = isoSeconds(now);
            info.next_run_datetime = nextRunAt ? isoSeconds(nextRunAt) : null;
            metrics.setState('idle');
            status.running = false;
            status.nextRunAt = nextRunAt;
            if (summary) status.lastRun = summary.toJSON();
            if (error === undefined) {
              status.lastError = null;
              if (summary?.outcome === 'completed') metrics.lastSuccess.set(now.getTime() / 1000);
            } else {
              status.lastError = serializeError(error).message;
              metrics.errors.inc();
            }
          },
        },
        signals,
      );
    } finally {
      await beat.close(); // persists the last state and run times
      await sink.close();
    }
  } finally {
    metrics.setState('stopped');
    server?.close();
  }
}

function createSink(
  config: Config,
  api: OpenCtiApi,
  registration: Registration,
  logger: Logger,
): BundleSink {
  const retry = { maxAttempts: 10, baseDelayMs: 1000, maxDelayMs: 30_000 };
  if (config.connector.queue_protocol === 'api') {
    return new ApiSink({ api, connectorId: config.connector.id, logger, retry });
  }
  const broker = brokerSettings(registration.config.connection, config.mq);
  if (broker.tls && !broker.tls.rejectUnauthorized) {
    logger.warn(
      'RabbitMQ TLS certificate verification is disabled (MQ_USE_SSL_REJECT_UNAUTHORIZED=false)',
    );
  }
  return new AmqpSink({
    publisher: new AmqpPublisher({
      broker,
      exchange: registration.config.push_exchange,
      routingKey: registration.config.push_routing,
      logger,
      retry,
      confirmTimeoutMs: 60_000,
    }),
    api,
    applicantId: registration.connectorUserId,
    logger,
  });
}
