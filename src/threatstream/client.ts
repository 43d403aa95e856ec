import { setImmediate } from 'node:timers/promises';
import type { IocType } from '../ioc-types';
import type { Logger } from '../log';
import type { RetryPolicy } from '../retry';
import { ThreatStreamRequestError } from './errors';
import { pageCursor, pageRecords } from './page';
import { buildPageParams, type PageQuery, type PageRequest } from './query';
import type { IntelligenceRecord, RejectedRecord } from './schema';
import { requestWithRetry, type RequestEvent } from './retrying';
import { ThreatStreamTransport, type IntelligenceEnvelope } from './transport';

export { ThreatStreamAuthError, ThreatStreamRequestError } from './errors';
export type { PageQuery } from './query';
export type { RequestEvent } from './retrying';

export interface ThreatStreamClientOptions {
  /** e.g. https://api.threatstream.com (a trailing slash is tolerated). */
  baseUrl: string;
  username: string;
  apiKey: string;
  /** false logs a warning once, at construction. */
  sslVerify: boolean;
  /** 1..1000 (ThreatStream's maximum). */
  pageSize: number;
  /** Hard deadline for one request, body included. */
  timeoutMs: number;
  /** Bigger response bodies are refused, not retried. */
  maxResponseBytes: number;
  retry: RetryPolicy;
  logger: Logger;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRequest?: (event: RequestEvent) => void;
}

export interface Page {
  /** Valid records with update_id above the cursor sent, in the order received. */
  records: IntelligenceRecord[];
  /** Malformed records, and records at or below the cursor sent ('stale_update_id'). */
  rejected: RejectedRecord[];
  /** The cursor after this page: its greatest readable update_id, never below the cursor sent. */
  cursor: string;
  hasMore: boolean;
}

/** One page of a type, or the failure that ended that type's pass. */
export type FeedItem =
  { type: IocType; page: Page } | { type: IocType; failure: ThreatStreamRequestError };

const MAX_PAGE_SIZE = 1000;

/** A page request on its way, and where it belongs. */
interface PendingPage {
  query: PageQuery;
  cursorSent: string | null;
  envelope: Promise<IntelligenceEnvelope>;
}

export class ThreatStreamClient {
  private readonly transport: ThreatStreamTransport;

  constructor(private readonly options: ThreatStreamClientOptions) {
    const { pageSize } = options;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new RangeError(`pageSize must be an integer in 1..${MAX_PAGE_SIZE}`);
    }
    this.transport = new ThreatStreamTransport(options);
    if (!options.sslVerify) {
      options.logger.warn(
        'TLS certificate verification of ThreatStream is disabled: the API key is exposed to anyone able to intercept the connection',
        { baseUrl: options.baseUrl },
      );
    }
  }

  /**
   * The pages of each query's type from its cursor, type after type, in update_id order. One
   * request is always on its way ahead of the consumer: the next page's (or, after a type's last
   * page, the next type's first) leaves as soon as a page's cursor is read, before the page is
   * validated and while the consumer delivers it. A type whose request fails for good yields its
   * failure and the next type goes on; a stop abandons the request ahead.
   */
  async *pages(queries: readonly PageQuery[], signal: AbortSignal): AsyncGenerator<FeedItem> {
    signal.throwIfAborted();
    const abandon = new AbortController();
    const linked = AbortSignal.any([signal, abandon.signal]);
    const firstPageOf = (index: number): PendingPage | undefined => {
      const query = queries[index];
      return query && this.request(query, query.cursor, linked);
    };
    let index = 0;
    let pending = firstPageOf(index);
    try {
      while (pending !== undefined) {
        const current = pending;
        const { type } = current.query;
        const envelope = await this.settle(current);
        if (envelope instanceof ThreatStreamRequestError) {
          yield { type, failure: envelope };
          pending = firstPageOf(++index);
          continue;
        }
        const position = this.positionAfter(current, envelope);
        pending = position?.hasMore
          ? this.request(current.query, position.cursor, linked)
          : firstPageOf(++index);
        if (position === null) continue;
        // axios writes the request on a later turn: let it leave before validation holds the thread.
        await setImmediate();
        const records = pageRecords(envelope.objects, current.cursorSent);
        yield { type, page: { ...records, ...position } };
      }
    } finally {
      abandon.abort();
    }
  }

  /** Where a page leaves its type's pass; null when it ends the pass with nothing to deliver. */
  private positionAfter(
    { query, cursorSent }: PendingPage,
    envelope: IntelligenceEnvelope,
  ): { cursor: string; hasMore: boolean } | null {
    if (envelope.objects.length === 0) return null;
    const { cursor, advanced } = pageCursor(envelope.objects, cursorSent);
    if (cursor === null) {
      // Only possible on a cold start's first page: no cursor to persist or to page from.
      this.options.logger.warn(
        'ThreatStream page has no readable update_id on a cold start; stopping this pass',
        { type: query.type, objects: envelope.objects.length },
      );
      return null;
    }
    if (envelope.next !== null && !advanced) {
      this.options.logger.warn(
        'ThreatStream page did not move the cursor although more pages are announced; stopping this pass to avoid a loop',
        { type: query.type, cursor: cursorSent, objects: envelope.objects.length },
      );
    }
    return { cursor, hasMore: envelope.next !== null && advanced };
  }

  private request(query: PageQuery, cursor: string | null, signal: AbortSignal): PendingPage {
    const request: PageRequest = { cursor, coldStart: query.cursor === null };
    const envelope = this.fetchPage(query, request, signal);
    // Observed now, so that a request abandoned by a stop never becomes an unhandled rejection.
    envelope.catch(() => undefined);
    return { query, cursorSent: cursor, envelope };
  }

  /** The page's envelope, or the failure that ends its type's pass. */
  private async settle(
    pending: PendingPage,
  ): Promise<IntelligenceEnvelope | ThreatStreamRequestError> {
    try {
      return await pending.envelope;
    } catch (error) {
      if (error instanceof ThreatStreamRequestError) return error;
      throw error;
    }
  }

  private async fetchPage(
    query: PageQuery,
    request: PageRequest,
    signal: AbortSignal,
  ): Promise<IntelligenceEnvelope> {
    const params = buildPageParams(query, request, this.options.pageSize);
    const label = {
      name: `ThreatStream request for type ${query.type}`,
      fields: { type: query.type },
    };
    const envelope = await requestWithRetry(
      this.options,
      label,
      (attemptSignal) => this.transport.send(params, attemptSignal),
      signal,
    );
    this.warnIfEmptyPageAnnouncedMore(query, envelope, request.cursor);
    return envelope;
  }

  private warnIfEmptyPageAnnouncedMore(
    query: PageQuery,
    envelope: IntelligenceEnvelope,
    cursorSent: string | null,
  ): void {
    if (envelope.objects.length > 0 || envelope.next === null) return;
    this.options.logger.warn(
      'ThreatStream returned an empty page although more pages are announced; stopping this pass',
      { type: query.type, cursor: cursorSent },
    );
  }
}
