import { randomUUID } from 'node:crypto';
import { importStartAt, loadConfig } from '../src/config';
import { runSettings } from '../src/connector/settings';
import { OpenCtiStub } from '../stand-ins/opencti/stub';
import {
  BROKER,
  declarePushQueue,
  deleteQueue,
  type PushQueue,
} from '../stand-ins/rabbitmq/broker';
import { fetchBare, type BareFetch } from './bare-fetch';
import { SimulatorThread } from './simulator-thread';

export const TOKEN = 'bench-opencti-token-5d1e8a40';
export const USERNAME = 'bench@example.com';
export const API_KEY = 'bench-threatstream-key-7c2b91';
export const CONNECTOR_USER = '2f6a4d1c-8b3e-4f5a-9c7d-1e2b3a4c5d6e';

/** Page size the daemon asks for (its default), and the bare client too. */
export const PAGE_SIZE = 1000;

/** Simulated records sit this far before the run starts, so the stability bound never cuts them. */
const FEED_END_MARGIN_MS = 60 * 60_000;

/**
 * One connector's surroundings for a benchmark run: a ThreatStream simulator holding `total`
 * records, an OpenCTI stand-in, and a push queue declared as the platform declares it.
 */
export interface BenchEnvironment {
  connectorId: string;
  simulator: SimulatorThread;
  opencti: OpenCtiStub;
  push: PushQueue;
  /** The daemon's environment: run once, import window covering every simulated record. */
  daemonEnv: Record<string, string>;
  feedStart: Date;
  close(): Promise<void>;
}

export async function startEnvironment(options: {
  total: number;
  latencyMs?: number;
  /** ANOMALI_TYPES; every type by default. */
  types?: string;
  /**
   * Reads every page of the cold start once before the daemon runs, so that the simulator then
   * serves them from memory: a real ThreatStream renders its pages on its own machines, not on
   * the two cores the daemon and the broker share.
   */
  prerender?: boolean;
}): Promise<BenchEnvironment> {
  const connectorId = randomUUID();
  // Record i is modified at feedStart + i seconds: the whole feed ends an hour before now.
  const feedStart = new Date(Date.now() - options.total * 1000 - FEED_END_MARGIN_MS);
  const simulator = await SimulatorThread.start({
    username: USERNAME,
    apiKey: API_KEY,
    total: options.total,
    startTime: feedStart,
    ...(options.latencyMs !== undefined && { latencyMs: options.latencyMs }),
    memoize: options.prerender === true,
  });
  const opencti = await OpenCtiStub.start({
    token: TOKEN,
    connectorUserId: CONNECTOR_USER,
    broker: {
      host: BROKER.hostname,
      port: BROKER.port,
      user: BROKER.username,
      pass: BROKER.password,
      vhost: BROKER.vhost,
      use_ssl: false,
    },
  });
  const push = await declarePushQueue(connectorId);
  const importStart = new Date(feedStart.getTime() - 60_000).toISOString();
  const daemonEnv = {
    OPENCTI_URL: opencti.url,
    OPENCTI_TOKEN: TOKEN,
    CONNECTOR_ID: connectorId,
    CONNECTOR_LOG_LEVEL: 'info',
    CONNECTOR_RUN_AND_TERMINATE: 'true',
    CONNECTOR_CONFIG_FILE: '/dev/null',
    ANOMALI_URL: simulator.url,
    ANOMALI_USERNAME: USERNAME,
    ANOMALI_API_KEY: API_KEY,
    ANOMALI_IMPORT_START: importStart,
    ANOMALI_STABILITY_DELAY: '0',
    // The bench measures the IOC import; its simulator serves no threat models.
    ANOMALI_THREAT_MODEL_TYPES: '',
    ...(options.types !== undefined && { ANOMALI_TYPES: options.types }),
  };
  const env: BenchEnvironment = {
    connectorId,
    simulator,
    opencti,
    push,
    daemonEnv,
    feedStart,
    close: async () => {
      await Promise.all([simulator.close(), opencti.close(), deleteQueue(push.queue)]);
    },
  };
  if (options.prerender) await fetchColdStart(env);
  return env;
}

/** Every page of the daemon's cold start, read one after the other by a bare client. */
export function fetchColdStart(env: BenchEnvironment): Promise<BareFetch> {
  const settings = runSettings(loadConfig(env.daemonEnv));
  return fetchBare({
    baseUrl: env.simulator.url,
    authorization: `apikey ${USERNAME}:${API_KEY}`,
    types: settings.types,
    coldStartFrom: importStartAt(settings.importStart, new Date()),
    pageSize: PAGE_SIZE,
  });
}
