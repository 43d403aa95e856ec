import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log';
import type {
  Page,
  PageQuery,
  ThreatStreamClient,
  ThreatStreamClientOptions,
} from '../../src/threatstream/client';

/** msw intercepts this host; nothing listens there, so an unintercepted request fails. */
export const BASE_URL = 'http://127.0.0.1:9';
export const INTELLIGENCE_URL = `${BASE_URL}/api/v2/intelligence/`;
export const USERNAME = 'analyst@example.org';
export const API_KEY = 'ts-key-5d41402abc4b2a76b9719d911017c592';
export const AUTHORIZATION = `apikey ${USERNAME}:${API_KEY}`;

export const UNTIL = new Date('2026-03-01T12:00:00.000Z');
export const COLD_START_FROM = new Date('2026-01-30T12:00:00.000Z');

/** A valid v2 intelligence object with the given update_id. */
export function intelRecord(
  updateId: number | string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const n = Number(updateId);
  return {
    id: 500_000 + (n % 100_000),
    update_id: updateId,
    value: `198.51.100.${n % 250}`,
    type: 'ip',
    subtype: null,
    itype: 'c2_ip',
    threat_type: 'c2',
    status: 'active',
    confidence: 80,
    meta: { severity: 'high', detail2: 'imported by user 7' },
    tags: [{ id: 'a1b', name: 'botnet' }],
    tlp: null,
    source: 'Analyst',
    description: null,
    created_ts: '2026-02-01T10:00:00.000Z',
    modified_ts: '2026-02-02T10:00:00.000Z',
    expiration_ts: '9999-12-31T00:00:00.000Z',
    sort: [n],
    resource_uri: `/api/v2/intelligence/${500_000 + (n % 100_000)}/`,
    ...overrides,
  };
}

export function pageBody(
  objects: unknown[],
  next: string | null = null,
): { meta: Record<string, unknown>; objects: unknown[] } {
  return { meta: { limit: 1000, next, offset: 0, took: 3, total_count: objects.length }, objects };
}

/** A `next` value as ThreatStream writes it; the client must never request it. */
export const NEXT_LINK = '/api/v2/intelligence/?limit=1000&offset=1000';

export interface CapturedLogs {
  logger: Logger;
  /** Raw JSON lines as written. */
  text(): string;
  entries(): Array<Record<string, unknown>>;
  /** Whether a line of the level has a message containing the text. */
  has(level: string, text: string): boolean;
}

/** A real logger (no secrets configured, so nothing is redacted for us) writing to memory. */
export function captureLogs(): CapturedLogs {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', secrets: [], stream });
  const text = () => chunks.join('');
  const entries = () =>
    text()
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    logger,
    text,
    entries,
    has: (level, wanted) =>
      entries().some((e) => e['level'] === level && String(e['message']).includes(wanted)),
  };
}

export interface RecordingSleep {
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  delays: number[];
}

/** Records each requested pause and returns at once. */
export function recordingSleep(): RecordingSleep {
  const delays: number[] = [];
  return {
    delays,
    sleep: (ms: number) => {
      delays.push(ms);
      return Promise.resolve();
    },
  };
}

export function clientOptions(
  logger: Logger,
  overrides: Partial<ThreatStreamClientOptions> = {},
): ThreatStreamClientOptions {
  return {
    baseUrl: `${BASE_URL}/`,
    username: USERNAME,
    apiKey: API_KEY,
    sslVerify: true,
    pageSize: 3,
    timeoutMs: 5000,
    maxResponseBytes: 1_000_000,
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
    logger,
    ...overrides,
  };
}

export function pageQuery(overrides: Partial<PageQuery> = {}): PageQuery {
  return {
    type: 'ip',
    cursor: '1000',
    coldStartFrom: COLD_START_FROM,
    until: UNTIL,
    feedIds: [],
    trustedCircleIds: [],
    ...overrides,
  };
}

/** Every page of one type's pass; the failure that ends the pass is thrown. */
export async function collectPages(
  client: Pick<ThreatStreamClient, 'pages'>,
  query: PageQuery,
  signal: AbortSignal = new AbortController().signal,
): Promise<Page[]> {
  const out: Page[] = [];
  for await (const item of client.pages([query], signal)) {
    if ('failure' in item) throw item.failure;
    out.push(item.page);
  }
  return out;
}

/** Query parameters of a request, as a plain object for exact comparisons. */
export function paramsOf(request: Request): Record<string, string> {
  return Object.fromEntries(new URL(request.url).searchParams);
}
