import type { ModelType } from '../model-types';
import { ThreatStreamRequestError } from './errors';
import {
  isPublished,
  linkedIocScopeSchema,
  modelRecordSchema,
  modelSummarySchema,
  type LinkedIocScope,
  type ModelSummary,
  type ThreatModel,
} from './model-schema';
import { requestWithRetry, type RetryingOptions } from './retrying';
import {
  intelligencePageSchema,
  parseRecords,
  type IntelligenceRecord,
  type RejectedRecord,
} from './schema';
import { ThreatStreamTransport, type TransportOptions } from './transport';

export type ThreatModelClientOptions = TransportOptions & RetryingOptions;

/** The models changed in a `modified_ts` window, [since, until) to the second. */
export interface ModelWindow {
  types: readonly ModelType[];
  since: Date;
  until: Date;
}

export interface LinkedIoc {
  record: IntelligenceRecord;
  scope: LinkedIocScope;
}

/** One page of a model's IOCs. */
export interface LinkedIocPage {
  iocs: LinkedIoc[];
  rejected: RejectedRecord[];
}

const SEARCH_PATH = '/api/v1/threat_model_search/';
/** ThreatStream's largest page. */
const LISTING_LIMIT = 1000;
const SECOND_MS = 1000;

/** The filter format ThreatStream documents: UTC to the second, without a zone. */
const filterTime = (millis: number): string => new Date(millis).toISOString().slice(0, 19);
const floorSecond = (millis: number): number => Math.floor(millis / SECOND_MS) * SECOND_MS;

/**
 * ThreatStream's threat model: which models changed (`threat_model_search`), a model's detail,
 * its IOCs and the models associated with it. Every request goes through the transport and the
 * retry policy of the intelligence client.
 */
export class ThreatModelClient {
  private readonly transport: ThreatStreamTransport;

  constructor(private readonly options: ThreatModelClientOptions) {
    this.transport = new ThreatStreamTransport(options);
  }

  /**
   * The published models of the window, each once with its latest `modified_ts`. Vulnerabilities
   * only appear in a search of their own; the others share one.
   */
  async discover(window: ModelWindow, signal: AbortSignal): Promise<ModelSummary[]> {
    const others = window.types.filter((type) => type !== 'vulnerability');
    const searches = [others, window.types.includes('vulnerability') ? ['vulnerability'] : []];
    const latest = new Map<string, ModelSummary>();
    for (const types of searches.filter((list) => list.length > 0)) {
      for await (const summary of this.search(types, window, signal)) {
        const key = `${summary.model_type}:${summary.id}`;
        const known = latest.get(key);
        if (!known || Date.parse(known.modified_ts) < Date.parse(summary.modified_ts)) {
          latest.set(key, summary);
        }
      }
    }
    return [...latest.values()];
  }

  /**
   * One search, newest first. Each further page lowers the upper bound to the second of the
   * oldest model seen instead of growing an offset, so models modified during the walk cannot
   * shift others out of it; the models of that second come again and are deduplicated.
   */
  private async *search(
    types: readonly string[],
    window: ModelWindow,
    signal: AbortSignal,
  ): AsyncGenerator<ModelSummary> {
    let upper = floorSecond(window.until.getTime());
    for (;;) {
      const params = new URLSearchParams({
        model_type: types.join(','),
        publication_status: 'published',
        order_by: '-modified_ts',
        limit: String(LISTING_LIMIT),
        modified_ts__gte: filterTime(floorSecond(window.since.getTime())),
        modified_ts__lt: filterTime(upper),
      });
      const page = await this.list(
        SEARCH_PATH,
        params,
        `threat model search (${types.join(',')})`,
        signal,
      );
      const summaries = this.summariesOf(page.objects);
      yield* summaries;
      if (page.next === null || summaries.length === 0) return;
      const next =
        floorSecond(Math.min(...summaries.map((s) => Date.parse(s.modified_ts)))) + SECOND_MS;
      if (next >= upper) {
        this.options.logger.warn(
          'A whole page of threat models shares one second; the older models of this window wait for a later run',
          { model_types: types, before: filterTime(upper) },
        );
        return;
      }
      upper = next;
    }
  }

  private summariesOf(objects: readonly unknown[]): ModelSummary[] {
    return objects.flatMap((object) => {
      const parsed = modelSummarySchema.safeParse(object);
      if (parsed.success && Number.isFinite(Date.parse(parsed.data.modified_ts))) {
        return parsed.data.publication_status === 'published' ? [parsed.data] : [];
      }
      this.options.logger.warn('Threat model search result skipped: unreadable', {
        threatstream_id: (object as { id?: unknown } | null)?.id ?? null,
      });
      return [];
    });
  }

  /** The model's fields; null when ThreatStream no longer shows it (deleted or unshared). */
  async detail(type: ModelType, id: string, signal: AbortSignal): Promise<ThreatModel | null> {
    const params = new URLSearchParams({ skip_associations: 'true', skip_intelligence: 'true' });
    const label = this.label(`${type} ${id}`, { model_type: type, model_id: id });
    try {
      const record = await requestWithRetry(
        this.options,
        label,
        (attemptSignal) =>
          this.transport.get(`/api/v1/${type}/${id}/`, params, modelRecordSchema, attemptSignal),
        signal,
      );
      return { ...record, type };
    } catch (error) {
      if (error instanceof ThreatStreamRequestError && error.status === 404) return null;
      throw error;
    }
  }

  /** The IOCs associated with a model, page by page, so that a large bulletin is never held whole. */
  async *iocPages(type: ModelType, id: string, signal: AbortSignal): AsyncGenerator<LinkedIocPage> {
    for await (const objects of this.pages(`/api/v1/${type}/${id}/intelligence/`, signal)) {
      const page: LinkedIocPage = { iocs: [], rejected: [] };
      for (const object of objects) {
        const { records, rejected } = parseRecords([object]);
        page.rejected.push(...rejected);
        for (const record of records) {
          page.iocs.push({ record, scope: linkedIocScopeSchema.parse(object) });
        }
      }
      yield page;
    }
  }

  /** The published models of type `other` associated with the model, page by page. */
  async *associations(
    type: ModelType,
    id: string,
    other: ModelType,
    signal: AbortSignal,
  ): AsyncGenerator<ThreatModel[]> {
    for await (const objects of this.pages(`/api/v1/${type}/${id}/${other}/`, signal)) {
      yield objects.flatMap((object) => {
        const parsed = modelRecordSchema.safeParse(object);
        if (!parsed.success) {
          this.options.logger.warn('Associated threat model skipped: unreadable', {
            model_type: other,
            threatstream_id: (object as { id?: unknown } | null)?.id ?? null,
          });
          return [];
        }
        const model = { ...parsed.data, type: other };
        return isPublished(model) ? [model] : [];
      });
    }
  }

  /** The objects of a listing, page after page by offset; a listing ThreatStream does not know is empty. */
  private async *pages(path: string, signal: AbortSignal): AsyncGenerator<unknown[]> {
    for (let offset = 0; ; offset += LISTING_LIMIT) {
      const params = new URLSearchParams({ limit: String(LISTING_LIMIT), offset: String(offset) });
      let page: { objects: unknown[]; next: string | null };
      try {
        page = await this.list(path, params, path, signal);
      } catch (error) {
        if (error instanceof ThreatStreamRequestError && error.status === 404) return;
        throw error;
      }
      if (page.objects.length > 0) yield page.objects;
      if (page.next === null || page.objects.length === 0) return;
    }
  }

  private async list(
    path: string,
    params: URLSearchParams,
    what: string,
    signal: AbortSignal,
  ): Promise<{ objects: unknown[]; next: string | null }> {
    const page = await requestWithRetry(
      this.options,
      this.label(what, { path }),
      (attemptSignal) => this.transport.get(path, params, intelligencePageSchema, attemptSignal),
      signal,
    );
    return { objects: page.objects, next: page.meta.next ?? null };
  }

  private label(what: string, fields: Record<string, unknown>) {
    return { name: `ThreatStream request for ${what}`, fields };
  }
}
