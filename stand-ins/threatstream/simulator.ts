/**
 * A deterministic ThreatStream stand-in on 127.0.0.1, for tests, the demo and the benchmark.
 * It answers GET /api/v2/intelligence/ and the threat-model endpoints (model-endpoints.ts) with
 * the query semantics the connector relies on, and
 * rejects anything else loudly (unknown parameters, offset paging, other orderings) so that a
 * client bug shows up as an error rather than as silently unfiltered data.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimulatedFeed, type FeedPage, type FeedQuery, type RecordPatch } from './feed';
import { SimulatedThreatModel, type ModelEndpoint } from './model-endpoints';
import type { ModelCatalogOptions } from './models';
import {
  DEFAULT_START_TIME,
  THREATSTREAM_TYPES,
  type FeedOptions,
  type SimulatedRecord,
  type ThreatStreamType,
} from './records';

export { expectedRecords, type RecordPatch } from './feed';
export type { ModelEndpoint } from './model-endpoints';
export {
  ATTACK_PATTERN_IDS,
  linkedIndices,
  type ModelCatalogOptions,
  type SimulatedModel,
  type SimulatedModelType,
} from './models';
export {
  DEFAULT_START_TIME,
  RECORD_INTERVAL_MS,
  THREATSTREAM_TYPES,
  modifiedAt,
  recordAt,
  updateIdAt,
  type FeedOptions,
  type SimulatedRecord,
  type ThreatStreamType,
} from './records';

export interface SimulatorOptions extends FeedOptions {
  username: string;
  apiKey: string;
  /** Number of records in the feed; grows with setTotal. */
  total: number;
  /**
   * Time from a request to its answer, as a remote API's latency: the answer is made while it
   * elapses, so making a page adds nothing unless it takes longer.
   */
  latencyMs?: number;
  /**
   * Renders each distinct page once and serves its records from memory afterwards, as a remote
   * service would serve them without using this machine's CPU (the benchmark reads every page
   * once before it measures). Any change to the feed forgets what was rendered.
   */
  memoize?: boolean;
  fault?: FaultHook;
  /**
   * The threat models ThreatStream holds, linked to records of the feed; none without it. The
   * feed's size and start time are the defaults of `feedTotal` and `startTime`.
   */
  models?: Partial<ModelCatalogOptions>;
}

export interface SimulatorRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Whether the Authorization header carried the configured credentials. */
  authorized: boolean;
}

/** An HTTP answer: a page, an error, or a fault a test injects. */
export interface SimulatorResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Overrides the answer to a request: a canned response, a dropped connection, or no answer at all. */
export type FaultHook = (
  request: SimulatorRequest,
) => SimulatorResponse | 'reset' | 'hang' | undefined;

/** A page as answered: its records already encoded as a JSON array. */
type RenderedPage = Omit<FeedPage, 'records'> & { objects: Buffer };

const INTELLIGENCE_PATH = '/api/v2/intelligence/';
const CLOSING_BRACE = Buffer.from('}');
const RECENT_REQUESTS = 100;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;
const STATUSES = new Set(['active', 'inactive', 'falsepos']);
const SUPPORTED_PARAMS = new Set([
  'order_by',
  'limit',
  'offset',
  'type',
  'update_id__gt',
  'modified_ts__gte',
  'modified_ts__lt',
  'status',
  'confidence__gte',
  'feed_id',
  'trusted_circle_ids',
]);

export class ThreatStreamSimulator {
  fault: FaultHook | undefined;
  /** Every request counts, also by endpoint; only the last RECENT_REQUESTS are kept. */
  readonly requests: {
    count: number;
    byEndpoint: Partial<Record<Endpoint, number>>;
    recent: SimulatorRequest[];
  } = { count: 0, byEndpoint: {}, recent: [] };
  /** The threat models, their associations, and the changes a test makes to them. */
  readonly threatModel: SimulatedThreatModel;
  private readonly feed: SimulatedFeed;
  private readonly expectedAuthorization: string;
  /** Rendered pages by SimulatedFeed.pageKey, when memoizing. */
  private readonly rendered = new Map<string, RenderedPage>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private readonly options: SimulatorOptions,
  ) {
    this.feed = new SimulatedFeed(options.total, options);
    const catalog = options.models && {
      feedTotal: options.total,
      startTime: options.startTime ?? DEFAULT_START_TIME,
      ...options.models,
    };
    this.threatModel = new SimulatedThreatModel(catalog, (index) => this.feed.recordAt(index));
    this.fault = options.fault;
    this.expectedAuthorization = `apikey ${options.username}:${options.apiKey}`;
    server.on('request', (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        // A simulator bug must show up as a failed request, not take the process down.
        if (!res.headersSent) {
          const reply = json(500, { message: String(error) });
          res.writeHead(reply.status, reply.headers).end(reply.body);
        } else res.destroy();
      });
    });
  }

  static async start(options: SimulatorOptions): Promise<ThreatStreamSimulator> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address() as AddressInfo;
    return new ThreatStreamSimulator(server, `http://127.0.0.1:${port}`, options);
  }

  get total(): number {
    return this.feed.total;
  }

  /** Records generated while answering so far (a page must not cost the whole feed). */
  get recordsGenerated(): number {
    return this.feed.recordsGenerated;
  }

  /** Grows the feed: the new records come after every existing update_id. */
  setTotal(total: number): void {
    this.feed.setTotal(total);
    this.rendered.clear();
  }

  /** Changes a record; it gets a new update_id above all others, e.g. `{ status: 'inactive' }`. */
  mutate(index: number, patch: RecordPatch): SimulatedRecord {
    this.rendered.clear();
    return this.feed.update(index, patch);
  }

  /** The current version of record `index`. */
  recordAt(index: number): SimulatedRecord {
    return this.feed.recordAt(index);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Hanging and kept-alive connections would otherwise hold close() open.
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const arrived = performance.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const request: SimulatorRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorized: req.headers.authorization === this.expectedAuthorization,
    };
    this.record(request);

    const fault = this.fault?.(request);
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault === 'hang') return;
    const reply = fault ?? this.answer(request, url.searchParams);
    const wait = (this.options.latencyMs ?? 0) - (performance.now() - arrived);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    res.writeHead(reply.status, reply.headers).end(reply.body ?? '');
  }

  private answer(request: SimulatorRequest, params: URLSearchParams): SimulatorResponse {
    const endpoint = endpointOf(request.path);
    if (endpoint === 'unknown') return json(404, { message: 'Not found' });
    if (request.method !== 'GET') return json(405, { message: 'Method not allowed' });
    if (!request.authorized) return json(401, { message: 'Unauthorized' });
    if (endpoint !== 'intelligence') {
      const { status, value } = this.threatModel.answer(request.path, params);
      return json(status, value);
    }
    const query = parseFeedQuery(params);
    if (typeof query === 'string') return json(400, { error: query });

    const started = performance.now();
    const page = this.renderPage(query);
    const meta: Record<string, unknown> = {
      limit: query.limit,
      // Like ThreatStream: the same query one page further by offset. Clients must not follow it.
      next: page.more ? nextLink(params, query.limit) : null,
      offset: 0,
      took: Math.round(performance.now() - started),
      total_count: page.totalCount,
    };
    if (page.approximate) meta['approximate_count'] = true;
    // The bytes JSON.stringify({ meta, objects }) would make, with the objects already encoded.
    return jsonBytes(
      200,
      Buffer.concat([
        Buffer.from(`{"meta":${JSON.stringify(meta)},"objects":`),
        page.objects,
        CLOSING_BRACE,
      ]),
    );
  }

  private renderPage(query: FeedQuery): RenderedPage {
    const key = this.options.memoize ? this.feed.pageKey(query) : undefined;
    const known = key === undefined ? undefined : this.rendered.get(key);
    if (known) return known;
    const { records, ...page } = this.feed.page(query);
    const rendered = { ...page, objects: Buffer.from(JSON.stringify(records)) };
    if (key !== undefined) this.rendered.set(key, rendered);
    return rendered;
  }

  private record(request: SimulatorRequest): void {
    this.requests.count += 1;
    const endpoint = endpointOf(request.path);
    this.requests.byEndpoint[endpoint] = (this.requests.byEndpoint[endpoint] ?? 0) + 1;
    this.requests.recent.push(request);
    if (this.requests.recent.length > RECENT_REQUESTS) this.requests.recent.shift();
  }
}

export type Endpoint = 'intelligence' | ModelEndpoint | 'unknown';

function endpointOf(path: string): Endpoint {
  if (path === INTELLIGENCE_PATH) return 'intelligence';
  return SimulatedThreatModel.endpointOf(path) ?? 'unknown';
}

export function startSimulator(options: SimulatorOptions): Promise<ThreatStreamSimulator> {
  return ThreatStreamSimulator.start(options);
}

/** Reads the query the way the simulator supports it; a string is the 400 message. */
function parseFeedQuery(params: URLSearchParams): FeedQuery | string {
  for (const key of params.keys()) {
    if (!SUPPORTED_PARAMS.has(key)) return `unsupported query parameter "${key}"`;
  }
  if (params.get('order_by') !== 'update_id')
    return 'the simulator only supports order_by=update_id';
  const offset = params.get('offset');
  if (offset !== null && offset !== '0') return 'offset paging is not supported: use update_id__gt';

  const limit = params.get('limit');
  if (limit !== null && !/^\d+$/.test(limit)) return `invalid limit "${limit}"`;
  const requested = limit === null ? DEFAULT_LIMIT : Number(limit);

  const rawType = params.get('type');
  const type = rawType === 'hash' ? 'md5' : rawType;
  if (type !== null && !isThreatStreamType(type)) return `unknown type "${rawType}"`;

  const updateIdAbove = params.get('update_id__gt');
  if (updateIdAbove !== null && !/^\d+$/.test(updateIdAbove)) {
    return `invalid update_id__gt "${updateIdAbove}"`;
  }
  const modifiedFrom = readTimestamp(params, 'modified_ts__gte');
  const modifiedBefore = readTimestamp(params, 'modified_ts__lt');
  if (Number.isNaN(modifiedFrom) || Number.isNaN(modifiedBefore)) return 'invalid modified_ts';

  const statuses = readList(params, 'status');
  if (statuses !== undefined && [...statuses].some((s) => !STATUSES.has(s))) {
    return 'invalid status';
  }
  const confidence = params.get('confidence__gte');
  if (confidence !== null && !Number.isFinite(Number(confidence))) return 'invalid confidence__gte';
  const feedIds = readIdList(params, 'feed_id');
  const trustedCircleIds = readIdList(params, 'trusted_circle_ids');
  if (feedIds === null || trustedCircleIds === null) return 'invalid id list';

  return {
    type: type ?? undefined,
    updateIdAbove: updateIdAbove === null ? undefined : BigInt(updateIdAbove),
    modifiedFrom,
    modifiedBefore,
    statuses,
    minConfidence: confidence === null ? undefined : Number(confidence),
    feedIds,
    trustedCircleIds,
    // limit=0 means "the maximum", and larger values are capped, as on ThreatStream.
    limit: requested === 0 ? MAX_LIMIT : Math.min(requested, MAX_LIMIT),
  };
}

function isThreatStreamType(value: string): value is ThreatStreamType {
  return (THREATSTREAM_TYPES as readonly string[]).includes(value);
}

function readTimestamp(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  return value === null ? undefined : Date.parse(value);
}

function readList(params: URLSearchParams, name: string): Set<string> | undefined {
  const value = params.get(name);
  return value === null ? undefined : new Set(value.split(','));
}

/** undefined when absent, null when malformed. */
function readIdList(params: URLSearchParams, name: string): Set<number> | undefined | null {
  const values = readList(params, name);
  if (values === undefined) return undefined;
  return [...values].every((v) => /^\d+$/.test(v)) ? new Set([...values].map(Number)) : null;
}

function nextLink(params: URLSearchParams, limit: number): string {
  const next = new URLSearchParams(params);
  next.set('offset', String(limit));
  return `${INTELLIGENCE_PATH}?${next.toString()}`;
}

/** Encoded when made, so that answering after the latency only writes bytes. */
function json(status: number, value: unknown): SimulatorResponse {
  return jsonBytes(status, Buffer.from(JSON.stringify(value)));
}

function jsonBytes(status: number, body: Buffer): SimulatorResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length) },
    body,
  };
}
