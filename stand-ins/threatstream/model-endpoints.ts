import { associatedOf, detailOf, searchObjectOf } from './model-json';
import {
  SIMULATED_MODEL_TYPES,
  buildAssociations,
  buildCatalog,
  linkedCount,
  linkedIndices,
  type ModelCatalogOptions,
  type SimulatedModel,
  type SimulatedModelType,
} from './models';
import type { SimulatedRecord } from './records';

/**
 * The simulator's threat-model endpoints, with the semantics the connector relies on and loud
 * refusals of anything else: `threat_model_search` (vulnerabilities only in a search of their
 * own, newest first, a `modified_ts` window), a model's detail, its IOCs and its associations.
 */

export type ModelEndpoint =
  'threat_model_search' | 'model_detail' | 'model_intelligence' | 'model_associations';

export interface ModelAnswer {
  status: number;
  value: unknown;
}

const SEARCH_PATH = '/api/v1/threat_model_search/';
const MODEL_PATH = /^\/api\/v1\/([a-z]+)\/(\d+)\/(?:([a-z]+)\/)?$/;
const SEARCH_PARAMS = new Set([
  'model_type',
  'publication_status',
  'order_by',
  'limit',
  'offset',
  'modified_ts__gte',
  'modified_ts__lt',
]);
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

export class SimulatedThreatModel {
  readonly models: SimulatedModel[];
  private readonly pairs: Set<string>;
  private lastTouchMs = 0;

  /** Without options, ThreatStream holds no models: every search is empty. */
  constructor(
    options: ModelCatalogOptions | undefined,
    private readonly recordAt: (index: number) => SimulatedRecord,
  ) {
    this.models = options ? buildCatalog(options) : [];
    this.pairs = buildAssociations(this.models, options?.seed);
  }

  /** Which endpoint a path is, or undefined when it is none of the model endpoints. */
  static endpointOf(path: string): ModelEndpoint | undefined {
    if (path === SEARCH_PATH) return 'threat_model_search';
    const match = MODEL_PATH.exec(path);
    if (!match) return undefined;
    if (match[3] === undefined) return 'model_detail';
    return match[3] === 'intelligence' ? 'model_intelligence' : 'model_associations';
  }

  model(type: string, id: number): SimulatedModel | undefined {
    return this.models.find((m) => m.type === type && m.id === id);
  }

  /** The models associated with a model, of every type. */
  associatedWith(model: SimulatedModel): SimulatedModel[] {
    return this.models.filter((other) =>
      this.pairs.has(`${model.type}:${model.id}>${other.type}:${other.id}`),
    );
  }

  /**
   * A change made in ThreatStream: the model's modified_ts moves to `at`, by default two seconds
   * back, so that a run starting now sees it under a window truncated to the second.
   */
  touch(type: SimulatedModelType, id: number, at = new Date(Date.now() - 2000)): SimulatedModel {
    const model = this.model(type, id);
    if (model === undefined) throw new RangeError(`no ${type} ${id}`);
    model.modifiedMs = Math.max(at.getTime(), this.lastTouchMs + 1, model.modifiedMs + 1);
    this.lastTouchMs = model.modifiedMs;
    return model;
  }

  answer(path: string, params: URLSearchParams): ModelAnswer {
    if (path === SEARCH_PATH) return this.search(params);
    const [, type = '', id = '', other] = MODEL_PATH.exec(path) ?? [];
    const model = this.model(type, Number(id));
    if (model === undefined) return { status: 404, value: { message: 'Not found' } };
    if (other === undefined) return { status: 200, value: detailOf(model) };
    const listing = readListing(params);
    if (typeof listing === 'string') return { status: 400, value: { error: listing } };
    if (other === 'intelligence') return this.iocsOf(model, listing);
    if (!(SIMULATED_MODEL_TYPES as readonly string[]).includes(other)) {
      return { status: 404, value: { message: 'Not found' } };
    }
    return this.associationsOf(model, other, listing);
  }

  private search(params: URLSearchParams): ModelAnswer {
    const query = readSearch(params);
    if (typeof query === 'string') return { status: 400, value: { error: query } };
    const found = this.models
      .filter((m) => query.types.has(m.type))
      .filter((m) => query.published === undefined || m.published === query.published)
      .filter((m) => m.modifiedMs >= query.from && m.modifiedMs < query.before)
      .sort((a, b) => b.modifiedMs - a.modifiedMs || b.id - a.id);
    return page(found.map(searchObjectOf), { offset: 0, limit: query.limit }, SEARCH_PATH);
  }

  private iocsOf(model: SimulatedModel, listing: Listing): ModelAnswer {
    const indices = linkedIndices(model).slice(listing.offset, listing.offset + listing.limit);
    const objects = indices.map((index) => ({
      ...this.recordAt(index),
      association_info: [
        {
          comment: null,
          created: new Date(model.modifiedMs).toISOString().slice(0, 23),
          from_id: model.id,
          sro: {},
        },
      ],
    }));
    return pageOf(
      objects,
      linkedCount(model),
      listing,
      `/api/v1/${model.type}/${model.id}/intelligence/`,
    );
  }

  private associationsOf(model: SimulatedModel, other: string, listing: Listing): ModelAnswer {
    const found = this.associatedWith(model).filter((m) => m.type === other);
    const objects = found.map((m) =>
      associatedOf(detailOf(m), model.id, Math.max(m.createdMs, model.createdMs)),
    );
    return page(objects, listing, `/api/v1/${model.type}/${model.id}/${other}/`);
  }
}

interface Listing {
  offset: number;
  limit: number;
}

function readLimit(params: URLSearchParams): number | string {
  const limit = params.get('limit');
  if (limit !== null && !/^\d+$/.test(limit)) return `invalid limit "${limit}"`;
  const requested = limit === null ? DEFAULT_LIMIT : Number(limit);
  return requested === 0 ? MAX_LIMIT : Math.min(requested, MAX_LIMIT);
}

function readListing(params: URLSearchParams): Listing | string {
  for (const key of params.keys()) {
    if (key !== 'limit' && key !== 'offset') return `unsupported query parameter "${key}"`;
  }
  const limit = readLimit(params);
  const offset = params.get('offset') ?? '0';
  if (typeof limit === 'string') return limit;
  if (!/^\d+$/.test(offset)) return `invalid offset "${offset}"`;
  return { limit, offset: Number(offset) };
}

interface SearchQuery {
  types: Set<string>;
  published: boolean | undefined;
  from: number;
  before: number;
  limit: number;
}

function readSearch(params: URLSearchParams): SearchQuery | string {
  for (const key of params.keys()) {
    if (!SEARCH_PARAMS.has(key)) return `unsupported query parameter "${key}"`;
  }
  const order = params.get('order_by');
  if (order !== null && order !== '-modified_ts')
    return 'the simulator only supports order_by=-modified_ts';
  if ((params.get('offset') ?? '0') !== '0')
    return 'offset paging is not supported: lower modified_ts__lt';
  const types = readTypes(params.get('model_type'));
  const from = readTime(params.get('modified_ts__gte'), -Infinity);
  const before = readTime(params.get('modified_ts__lt'), Infinity);
  const limit = readLimit(params);
  if (typeof types === 'string' || typeof limit === 'string')
    return typeof types === 'string' ? types : (limit as string);
  if (Number.isNaN(from) || Number.isNaN(before)) return 'invalid modified_ts';
  const status = params.get('publication_status');
  return {
    types,
    published: status === null ? undefined : status === 'published',
    from,
    before,
    limit,
  };
}

/** As on ThreatStream: no model_type means every type but vulnerabilities. */
function readTypes(text: string | null): Set<string> | string {
  if (text === null) return new Set(SIMULATED_MODEL_TYPES.filter((t) => t !== 'vulnerability'));
  const types = text.split(',');
  if (types.some((t) => !(SIMULATED_MODEL_TYPES as readonly string[]).includes(t)))
    return `unknown model_type "${text}"`;
  if (types.includes('vulnerability') && types.length > 1) {
    return 'vulnerabilities are only searched with model_type=vulnerability alone';
  }
  return new Set(types);
}

/** The documented filter format, UTC without a zone; a zone is accepted too. */
function readTime(text: string | null, absent: number): number {
  if (text === null) return absent;
  return Date.parse(/Z|[+-]\d{2}:\d{2}$/.test(text) ? text : `${text}Z`);
}

function page(all: unknown[], listing: Listing, path: string): ModelAnswer {
  return pageOf(
    all.slice(listing.offset, listing.offset + listing.limit),
    all.length,
    listing,
    path,
  );
}

function pageOf(objects: unknown[], total: number, listing: Listing, path: string): ModelAnswer {
  const more = listing.offset + objects.length < total;
  const next = more
    ? `${path}?limit=${listing.limit}&offset=${listing.offset + listing.limit}`
    : null;
  const meta = {
    limit: listing.limit,
    next,
    offset: listing.offset,
    previous: null,
    total_count: total,
  };
  return { status: 200, value: { meta, objects } };
}
