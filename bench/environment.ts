import { randomUUID } from 'node:crypto';
import { importStartAt, loadConfig } from '../src/config';
import { runSettings } from '../src/connector/settings';
import { IOC_TYPES } from '../src/ioc-types';
import { OpenCtiStub } from '../stand-ins/opencti/stub';
import {
  BROKER,
  declarePushQueue,
  deleteQueue,
  type PushQueue,
} from '../stand-ins/rabbitmq/broker';
import type { ModelCatalogOptions } from '../stand-ins/threatstream/simulator';
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
 * records (and no threat models unless told), an OpenCTI stand-in, and a push queue declared as
 * the platform declares it.
 */
export interface BenchEnvironment {
  connectorId: string;
  simulator: SimulatorThread;
  opencti: OpenCtiStub;
  push: PushQueue;
  /** The daemon's environment: run once, import window covering every simulated record. */
  daemonEnv: Record<string, string>;
  feedStart: Date;
  /** Every type's cursor in the state OpenCTI stored before the daemon's first run, if any. */
  storedCursor: string | undefined;
  close(): Promise<void>;
}

export interface EnvironmentOptions {
  total: number;
  latencyMs?: number;
  /** ANOMALI_TYPES; every type by default. */
  types?: string;
  /**
   * Reads every page of the daemon's first run once before it runs, so that the simulator then
   * serves them from memory: a real ThreatStream renders its pages on its own machines, not on
   * the two cores the daemon and the broker share.
   */
  prerender?: boolean;
  /** Exactly this share of the records is inactive or a false positive. */
  nonActiveShare?: number;
  /** Stored in OpenCTI as every type's cursor, so the first run is incremental, not a cold start. */
  storedCursor?: string;
  /** The threat models the simulator holds; none by default (every search is empty). */
  models?: Partial<ModelCatalogOptions>;
  /** ANOMALI_THREAT_MODEL_TYPES; the connector's default types otherwise. */
  threatModelTypes?: string;
}

export async function startEnvironment(options: EnvironmentOptions): Promise<BenchEnvironment> {
  const connectorId = randomUUID();
  // Record i is modified at feedStart + i seconds: the whole feed ends an hour before now.
  const feedStart = new Date(Date.now() - options.total * 1000 - FEED_END_MARGIN_MS);
  const simulator = await SimulatorThread.start({
    username: USERNAME,
    apiKey: API_KEY,
    total: options.total,
    startTime: feedStart,
    ...(options.latencyMs !== undefined && { latencyMs: options.latencyMs }),
    ...(options.nonActiveShare !== undefined && { nonActiveShare: options.nonActiveShare }),
    ...(options.models !== undefined && { models: options.models }),
    memoize: options.prerender === true,
  });
  const opencti = await startOpenCti(storedState(options));
  const push = await declarePushQueue(connectorId);
  const env: BenchEnvironment = {
    connectorId,
    simulator,
    opencti,
    push,
    daemonEnv: daemonEnvironment(options, { connectorId, simulator, opencti, feedStart }),
    feedStart,
    storedCursor: options.storedCursor,
    close: async () => {
      await Promise.all([simulator.close(), opencti.close(), deleteQueue(push.queue)]);
    },
  };
  if (options.prerender) await fetchFirstRun(env);
  return env;
}

/** The OpenCTI stand-in every bench run talks to, pointing the daemon at the local broker. */
export function startOpenCti(storedState: string | null = null): Promise<OpenCtiStub> {
  return OpenCtiStub.start({
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
    storedState,
  });
}

/** Run once, with an import window covering every simulated record. */
function daemonEnvironment(
  options: EnvironmentOptions,
  around: Pick<BenchEnvironment, 'connectorId' | 'simulator' | 'opencti' | 'feedStart'>,
): Record<string, string> {
  return {
    OPENCTI_URL: around.opencti.url,
    OPENCTI_TOKEN: TOKEN,
    CONNECTOR_ID: around.connectorId,
    CONNECTOR_LOG_LEVEL: 'info',
    CONNECTOR_RUN_AND_TERMINATE: 'true',
    CONNECTOR_CONFIG_FILE: '/dev/null',
    ANOMALI_URL: around.simulator.url,
    ANOMALI_USERNAME: USERNAME,
    ANOMALI_API_KEY: API_KEY,
    ANOMALI_IMPORT_START: new Date(around.feedStart.getTime() - 60_000).toISOString(),
    ANOMALI_STABILITY_DELAY: '0',
    ...(options.types !== undefined && { ANOMALI_TYPES: options.types }),
    ...(options.threatModelTypes !== undefined && {
      ANOMALI_THREAT_MODEL_TYPES: options.threatModelTypes,
    }),
  };
}

/** `{"cursors":{…}}` with the stored cursor for every type the daemon imports; null without one. */
function storedState(options: EnvironmentOptions): string | null {
  if (options.storedCursor === undefined) return null;
  const types = options.types?.split(',') ?? IOC_TYPES;
  const cursors = Object.fromEntries(types.map((type) => [type, options.storedCursor]));
  return JSON.stringify({ cursors });
}

/** Every page of the daemon's first run (a cold start or from the stored cursors), read one after the other by a bare client. */
export function fetchFirstRun(env: BenchEnvironment): Promise<BareFetch> {
  const settings = runSettings(loadConfig(env.daemonEnv));
  return fetchBare({
    baseUrl: env.simulator.url,
    authorization: `apikey ${USERNAME}:${API_KEY}`,
    types: settings.types,
    coldStartFrom: importStartAt(settings.importStart, new Date()),
    pageSize: PAGE_SIZE,
    ...(env.storedCursor !== undefined && { cursor: env.storedCursor }),
  });
}
