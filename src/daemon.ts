import type { Config } from './config';
import { everyObserver, type RunObserver } from './connector/observer';
import { PingInfo } from './connector/ping-info';
import { QueueGate } from './connector/queue-gate';
import { RevocationFilter } from './connector/revocations';
import { runOnce, type RunSignals } from './connector/run';
import { STATE_NOT_STORED } from './connector/summary';
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
import { packageVersion } from './package-version';
import { RETRY_POLICIES, withRetry } from './retry';
import { AmqpSink } from './sinks/amqp-sink';
import { ApiSink } from './sinks/api-sink';
import { RefreshingSink } from './sinks/refreshing-sink';
import type { BundleSink } from './sinks/sink';

const PING_INTERVAL_MS = 40_000;
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
  metrics.queueThreshold.set(config.connector.queue_threshold);
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
  const api = openCtiApi(config, logger, signals.stop);
  const registerNow = registrar(config, api, logger, signals, secrets, status);
  let registration: Registration;
  try {
    registration = await registerNow();
  } catch (error) {
    if (signals.stop.aborted) return 0;
    logger.error('Cannot start', { error: serializeError(error) });
    return 1;
  }
  const heartbeat = startHeartbeat(config, api, registration, logger, signals.stop, (ok) => {
    metrics.pinged(ok);
    status.openCtiReachable = ok;
  });
  status.cursors = () => heartbeat.load().state.cursors;
  const pingInfo = new PingInfo(heartbeat.info, () => void heartbeat.ping());
  const observer = everyObserver([metrics, status, pingInfo]);
  const open = (registered: Registration) => createSink(config, api, registered, logger, observer);
  // A run that fails on the broker re-registers before the next one, to learn a changed address.
  const sink = new RefreshingSink(open(registration), async () => open(await registerNow()));
  let code = 1;
  try {
    code = await scheduleRuns(config, logger, signals, { api, heartbeat, sink, metrics, observer });
  } finally {
    const stored = await heartbeat.close(); // persists the last state and run times
    await sink.close();
    // A daemon stopped by a signal exits 0 whatever OpenCTI does; a single run reports it.
    if (once(config.connector) && !stored) code = unstoredStateExit(code, logger);
  }
  return code;
}

/** Whether the connector makes a single run and exits. */
function once(connector: Config['connector']): boolean {
  return connector.run_and_terminate || connector.duration_period === 0;
}

/** A run that ends without OpenCTI holding its cursors did not succeed: the next one repeats it. */
function unstoredStateExit(code: number, logger: Logger): number {
  if (code !== 0) return code;
  logger.error(STATE_NOT_STORED);
  return 1;
}

/** Registers with OpenCTI each time it is called; the broker password it hands out is redacted. */
function registrar(
  config: Config,
  api: OpenCtiApi,
  logger: Logger,
  signals: RunSignals,
  secrets: string[],
  status: ConnectorStatus,
): () => Promise<Registration> {
  return async () => {
    const registration = await register(api, {
      url: config.opencti.url,
      connector: config.connector,
      version: packageVersion(),
      logger,
      signal: signals.stop,
      reachable: (ok) => (status.openCtiReachable = ok),
    });
    secrets.push(registration.config.connection.pass);
    return registration;
  };
}

function openCtiApi({ opencti }: Config, logger: Logger, stop: AbortSignal): OpenCtiApi {
  return new OpenCtiApi({
    url: opencti.url,
    token: opencti.token,
    sslVerify: opencti.ssl_verify,
    stop,
    logger,
  });
}

function startHeartbeat(
  config: Config,
  api: OpenCtiApi,
  registration: Registration,
  logger: Logger,
  stop: AbortSignal,
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
  const single = once(connector);
  const heartbeat = new Heartbeat({
    api,
    connectorId: connector.id,
    logger,
    intervalMs: PING_INTERVAL_MS,
    initialState,
    remoteHasState: hasCursors(initialState),
    stop,
    info: {
      run_and_terminate: single,
      buffering: false,
      queue_threshold: connector.queue_threshold,
      queue_messages_size: 0,
      next_run_datetime: null,
      last_run_datetime: null,
    },
    onPing,
  });
  if (!single) heartbeat.start();
  return heartbeat;
}

interface Connections {
  api: OpenCtiApi;
  heartbeat: Heartbeat;
  sink: BundleSink;
  metrics: Metrics;
  /** Metrics, `/status` and the ping's run information. */
  observer: Required<RunObserver>;
}

function scheduleRuns(
  config: Config,
  logger: Logger,
  signals: RunSignals,
  { api, heartbeat, sink, metrics, observer }: Connections,
): Promise<number> {
  const { connector } = config;
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
    ...(once(connector) && { finalState: () => heartbeat.close() }),
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
  return new RevocationFilter(config.anomali.revoke_unknown ? null : lookup, logger);
}

function createSink(
  config: Config,
  api: OpenCtiApi,
  registration: Registration,
  logger: Logger,
  observer: Required<RunObserver>,
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
    backPressure: RETRY_POLICIES.brokerBackPressure,
    confirmTimeoutMs: CONFIRM_TIMEOUT_MS,
    queueFull: { refused: observer.pushRefused, accepting: observer.pushAccepting },
  });
  return new AmqpSink({
    publisher,
    api,
    applicantId: registration.connectorUserId,
    maxMessageBytes: config.mq.max_message_mb * 1024 * 1024,
    logger,
  });
}
