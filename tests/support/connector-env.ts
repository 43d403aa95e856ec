import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config';
import { convertRecord, type ConvertOptions } from '../../src/stix/convert';
import { authorIdentity } from '../../src/stix/author';
import type { IocType } from '../../src/ioc-types';
import { WIRE_TYPE } from '../../src/threatstream/query';
import { parseRecords } from '../../src/threatstream/schema';
import {
  expectedRecords,
  startSimulator,
  type ModelCatalogOptions,
  type ThreatStreamSimulator,
} from '../../stand-ins/threatstream/simulator';
import { OpenCtiStub } from '../../stand-ins/opencti/stub';
import type { BrokerSettings } from '../../src/opencti/publisher';
import {
  BROKER,
  declarePushQueue,
  deleteQueue,
  type PushQueue,
} from '../../stand-ins/rabbitmq/broker';

export const TOKEN = 'opencti-token-2c9f5a7e-1d3b';
export const API_KEY = 'ts-api-key-9f8e7d6c5b4a';
export const USERNAME = 'analyst@example.com';
export const CONNECTOR_USER = '88ec0c6a-13ce-5e39-b486-354fe4a7084f';

/** How the daemon converts records with the world's default configuration. */
export const CONVERT_OPTIONS: ConvertOptions = {
  author: authorIdentity('Anomali ThreatStream'),
  defaultTlp: 'amber',
  createObservables: true,
  uiUrl: 'https://ui.threatstream.com',
};

/** Records start two days ago, one per second, so they all sit inside the import window. */
export const FEED_START = new Date(Date.now() - 2 * 86_400_000);

/** A ThreatStream simulator, an OpenCTI stand-in and a real push queue, wired for one connector. */
export interface ConnectorWorld {
  connectorId: string;
  simulator: ThreatStreamSimulator;
  opencti: OpenCtiStub;
  push: PushQueue;
  env: Record<string, string>;
  config(overrides?: Record<string, string>): Config;
  close(): Promise<void>;
}

export async function startWorld(options: {
  total: number;
  storedState?: string | null;
  /** The broker OpenCTI hands the connector at registration; the shared local one by default. */
  broker?: BrokerSettings;
  /** Threat models ThreatStream holds; none without. */
  models?: Partial<ModelCatalogOptions>;
  /** ThreatStream's time to answer each request; none by default. */
  latencyMs?: number;
}): Promise<ConnectorWorld> {
  const connectorId = randomUUID();
  const broker = options.broker ?? BROKER;
  const simulator = await startSimulator({
    username: USERNAME,
    apiKey: API_KEY,
    total: options.total,
    startTime: FEED_START,
    ...(options.models && { models: options.models }),
    ...(options.latencyMs !== undefined && { latencyMs: options.latencyMs }),
  });
  const opencti = await OpenCtiStub.start({
    token: TOKEN,
    connectorUserId: CONNECTOR_USER,
    broker: {
      host: broker.hostname,
      port: broker.port,
      user: broker.username,
      pass: broker.password,
      vhost: broker.vhost,
      use_ssl: false,
    },
    ...(options.storedState !== undefined && { storedState: options.storedState }),
  });
  const push = await declarePushQueue(connectorId, { broker });
  const env = {
    OPENCTI_URL: opencti.url,
    OPENCTI_TOKEN: TOKEN,
    CONNECTOR_ID: connectorId,
    CONNECTOR_LOG_LEVEL: 'debug',
    CONNECTOR_RUN_AND_TERMINATE: 'true',
    ANOMALI_URL: simulator.url,
    ANOMALI_USERNAME: USERNAME,
    ANOMALI_API_KEY: API_KEY,
    ANOMALI_IMPORT_START: 'P7D',
    ANOMALI_STABILITY_DELAY: '0',
    CONNECTOR_CONFIG_FILE: '/dev/null',
  };
  return {
    connectorId,
    simulator,
    opencti,
    push,
    env,
    config: (overrides = {}) => loadConfig({ ...env, ...overrides }),
    close: async () => {
      await Promise.all([simulator.close(), opencti.close(), deleteQueue(push.queue, broker)]);
    },
  };
}

/**
 * The indicator ids an import of the first `total` records must deliver, converted exactly as
 * the connector converts them: on a cold start only active records; after a cursor, every
 * record above it.
 */
export function expectedIndicatorIds(
  total: number,
  types: readonly IocType[],
  activeOnly: boolean,
  after: Partial<Record<IocType, string>> = {},
): Set<string> {
  const ids = new Set<string>();
  for (const type of types) {
    for (const raw of expectedRecords(total, WIRE_TYPE[type], { startTime: FEED_START })) {
      if (activeOnly && raw.status !== 'active') continue;
      const cursor = after[type];
      if (cursor !== undefined && raw.update_id <= Number(cursor)) continue;
      const [record] = parseRecords([raw]).records;
      const result = record && convertRecord(record, CONVERT_OPTIONS);
      if (result?.ok) ids.add(result.indicator.id);
    }
  }
  return ids;
}

/** The greatest update_id of a type among the first `total` records (what its cursor must reach). */
export function lastUpdateId(
  total: number,
  type: IocType,
  activeOnly: boolean,
): string | undefined {
  let last: number | undefined;
  for (const raw of expectedRecords(total, WIRE_TYPE[type], { startTime: FEED_START })) {
    if (!activeOnly || raw.status === 'active') last = raw.update_id;
  }
  return last === undefined ? undefined : String(last);
}
