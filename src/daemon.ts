import type { Config } from './config';
import { everyObserver } from './connector/observer';
import { PingInfo } from './connector/ping-info';
import { QueueGate } from './connector/queue-gate';
import { RevocationFilter } from './connector/revocations';
import { runOnce, type RunSignals } from './connector/run';
import { schedule } from './connector/scheduler';
import { runSettings, threatModelClient, threatStreamClient } from './connector/settings';
import { isFatal } from './fatal';
import { serializeError, type Logger } from './log';
import { Metrics } from './observability/metrics';
import { startObservabilityServer } from './observability/server';
import { ConnectorStatus } from './observability/status';
import { OpenCtiApi, type Registration } from './opencti/api';
import { brokerSettings } from './opencti/broker';
import { Heartbeat } from './opencti/heartbeat';
import { AmqpPublisher } from './opencti/publisher';
import { register } from './opencti/registration';
import { hasCursors, parseState } from './opencti/state';
import { Works } from './opencti/works';
import { RETRY_POLICIES, withRetry } from './retry';
import { AmqpSink } from './sinks/amqp-sink';
import { ApiSink } from './sinks/api-sink';
import type { BundleSink } from './sinks/sink';

const PING_INTERVAL_MS = 40_000;
const OPENCTI_TIMEOUT_MS = 120_000;
/** A queue size below the threshold is re-read at most this often between batches. */
const QUEUE_READING_FRESH_MS = 2000;
const CONFIRM_TIMEOUT_MS = 60_000;

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
  const metrics = new Metrics();
  const status = new ConnectorStatus();
  // Up before registration, so the container healthcheck can tell "waiting for OpenCTI".
  const server = config.connector.expose_metrics
    ? await startObservabilityServer({
        port: config.connector.metrics_port,
        registry: metrics.registry,
        status,
        secrets,
        logger,
      })
    : null;
  try {
    return await registerThenSchedule(config, logger, signals, secrets, { metrics, status });
  } finally {
    metrics.setState('stopped');
    server?.close();
  }
}

interface Observability {
  metrics: Metrics;
  status: ConnectorStatus;
}

async function registerThenSchedule(
  config: Config,
  logger: Logger,
  signals: RunSignals,
  secrets: string[],
  { metrics, status }: Observability,
): Promise<number> {
  const api = openCtiApi(config, logger);
  let registration: Registration;
  try {
    registration = await register(api, {
      connector: config.connector,
      logger,
      signal: signals.stop,
      reachable: (ok) => (status.openCtiReachable = ok),
    });
  } catch (error) {
    if (signals.stop.aborted) return 0;
    logger.error('Cannot start', { error: serializeError(error) });
    return 1;
  }
  secrets.push(registration.config.connection.pass);
  const heartbeat = startHeartbeat(config, api, registration, logger, (ok) => {
    metrics.pinged(ok);
    status.openCtiReachable = ok;
  });
  status.cursors = () => heartbeat.load().state.cursors;
  const sink = createSink(config, api, registration, logger);
  try {
    return await scheduleRuns(config, logger, signals, { api, heartbeat, sink, metrics, status });
  } finally {
    heartbeat.stop();
    await heartbeat.ping(); // persists the last state and run times, as pycti's force_ping
    await sink.close();
  }
}

function openCtiApi({ opencti }: Config, logger: Logger): OpenCtiApi {
  return new OpenCtiApi({
    url: opencti.url,
    token: opencti.token,
    sslVerify: opencti.ssl_verify,
    timeoutMs: OPENCTI_TIMEOUT_MS,
    logger,
  });
}

function startHeartbeat(
  config: Config,
  api: OpenCtiApi,
  registration: Registration,
  logger: Logger,
  onPing: (ok: boolean) => void,
): Heartbeat {
  const { connector } = config;
  const stored = parseState(registration.connectorState);
  if (!stored.ok) {
    logger.warn('Ignoring the stored connector state; every IOC type starts cold', {
      problem: stored.problem,
    });
  }
  const initialState = stored.ok ? stored.state : { cursors: {} };
  const once = connector.run_and_terminate || connector.duration_period === 0;
  const heartbeat = new Heartbeat({
    api,
    connectorId: connector.id,
    logger,
    intervalMs: PING_INTERVAL_MS,
    initialState,
    remoteHasState: hasCursors(initialState),
    info: {
      run_and_terminate: once,
      buffering: false,
      queue_threshold: connector.queue_threshold,
      queue_messages_size: 0,
      next_run_datetime: null,
      last_run_datetime: null,
    },
    onPing,
  });
  if (!once) heartbeat.start();
  return heartbeat;
}

interface Connections extends Observability {
  api: OpenCtiApi;
  heartbeat: Heartbeat;
  sink: BundleSink;
}

function scheduleRuns(
  config: Config,
  logger: Logger,
  signals: RunSignals,
  { api, heartbeat, sink, metrics, status }: Connections,
): Promise<number> {
  const { connector } = config;
  const pingInfo = new PingInfo(heartbeat.info, () => void heartbeat.ping());
  const observer = everyObserver([metrics, status, pingInfo]);
  const queueGate = new QueueGate({
    api,
    connectorId: connector.id,
    thresholdMb: connector.queue_threshold,
    checkIntervalMs: connector.queue_check_interval * 1000,
    freshForMs: QUEUE_READING_FRESH_MS,
    logger,
    report: observer.queueChecked,
  });
  const deps = {
    client: threatStreamClient(config, logger, (event) => metrics.request(event)),
    threatModels: threatModelClient(config, logger, (event) => metrics.request(event)),
    sink,
    state: heartbeat,
    works: new Works(api, connector.id, logger),
    revocations: revocationFilter(config, api, logger),
    queueGate,
    logger,
    now: () => new Date(),
    observer: metrics,
  };
  const settings = runSettings(config);
  const run = async (runSignals: RunSignals) => {
    // A ping first, so that a reset made in the UI since the last ping applies to this run.
    await heartbeat.ping();
    return runOnce(deps, settings, runSignals);
  };
  const { duration_period: periodMs, run_and_terminate: runAndTerminate } = connector;
  return schedule({ periodMs, runAndTerminate, run, isFatal, logger, observer }, signals);
}

/** Unless told to revoke unknown indicators, asks OpenCTI which indicators it holds. */
function revocationFilter(config: Config, api: OpenCtiApi, logger: Logger): RevocationFilter {
  const lookup = (ids: readonly string[]) =>
    withRetry(RETRY_POLICIES.openCtiLookup, () => api.indicatorsHeld(ids));
  const now = () => new Date();
  return new RevocationFilter(config.anomali.revoke_unknown ? null : lookup, logger, now);
}

function createSink(
  config: Config,
  api: OpenCtiApi,
  registration: Registration,
  logger: Logger,
): BundleSink {
  if (config.connector.queue_protocol === 'api') {
    return new ApiSink({
      api,
      connectorId: config.connector.id,
      logger,
      retry: RETRY_POLICIES.apiBundle,
    });
  }
  const broker = brokerSettings(registration.config.connection, config.mq);
  if (broker.tls && !broker.tls.rejectUnauthorized) {
    logger.warn(
      'RabbitMQ TLS certificate verification is disabled (MQ_USE_SSL_REJECT_UNAUTHORIZED=false)',
    );
  }
  const publisher = new AmqpPublisher({
    broker,
    exchange: registration.config.push_exchange,
    routingKey: registration.config.push_routing,
    logger,
    retry: RETRY_POLICIES.brokerBatch,
    confirmTimeoutMs: CONFIRM_TIMEOUT_MS,
  });
  return new AmqpSink({ publisher, api, applicantId: registration.connectorUserId, logger });
}
