import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from '../log';
import { ThreatStreamRequestError } from './errors';
import { pageCursor, pageHint, pageRecords } from './page';
import { buildPageParams, type PageQuery, type PageRequest } from './query';
import { sleep, type RetryPolicy } from '../backoff';
import { retryDelayMs } from './retry';
import type { IntelligenceRecord, RejectedRecord } from './schema';
import { ThreatStreamTransport, type IntelligenceEnvelope, type RequestStatus } from './transport';

export { ThreatStreamAuthError, ThreatStreamRequestError } from './errors';
export type { PageQuery } from './query';

export interface RequestEvent {
  durationMs: number;
  status: RequestStatus;
  /** 1-based attempt number for this page. */
  attempt: number;
  /** Whether this attempt failed and another one follows. */
  retried: boolean;
}

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

const MAX_PAGE_SIZE = 1000;

/** A page request on its way. `peek`, while set, sees each 200 answer's raw body before it is parsed. */
class PageFetch {
  peek: ((body: string) => Promise<void>) | undefined;
  readonly envelope: Promise<IntelligenceEnvelope>;

  constructor(start: (peek: (body: string) => Promise<void>) => Promise<IntelligenceEnvelope>) {
    this.envelope = start(async (body) => this.peek?.(body));
    // Observed now so that an abandoned request never becomes an unhandled rejection; whoever
    // uses the page still awaits (and rethrows) it.
    this.envelope.catch(() => undefined);
  }
}

/** The next page's request, started from the raw text of the page before it. */
interface EarlyFetch {
  cursor: string;
  fetch: PageFetch;
  cancel: AbortController;
}

export class ThreatStreamClient {
  private readonly transport: ThreatStreamTransport;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly options: ThreatStreamClientOptions) {
    const { pageSize } = options;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new RangeError(`pageSize must be an integer in 1..${MAX_PAGE_SIZE}`);
    }
    if (!Number.isInteger(options.retry.maxAttempts) || options.retry.maxAttempts < 1) {
      throw new RangeError('retry.maxAttempts must be a positive integer');
    }
    this.transport = new ThreatStreamTransport(options);
    this.sleep = options.sleep ?? sleep;
    if (!options.sslVerify) {
      options.logger.warn(
        'TLS certificate verification of ThreatStream is disabled: the API key is exposed to anyone able to intercept the connection',
        { baseUrl: options.baseUrl },
      );
    }
  }

  /**
   * Pages of one type from its cursor, in update_id order. Yields one page at a time and
   * prefetches exactly one page ahead: the request for page N+1 leaves as soon as page N's
   * cursor is known, before page N is validated, and is abandoned if the consumer stops early.
   * When the consumer is already waiting for page N, that is as soon as its raw text is in,
   * before it is even parsed. Empty pages are not yielded.
   */
  async *pages(query: PageQuery, signal?: AbortSignal): AsyncGenerator<Page> {
    signal?.throwIfAborted();
    const prefetch = new AbortController();
    const linked =
      signal === undefined ? prefetch.signal : AbortSignal.any([signal, prefetch.signal]);
    let cursorSent = query.cursor;
    let request: PageFetch | undefined = this.startFetch(
      query,
      { cursor: cursorSent, coldStart: query.cursor === null },
      linked,
    );
    try {
      while (request !== undefined) {
        const read = await this.readPage(query, request, cursorSent, linked);
        if (read === undefined) return;
        request = read.next;
        yield read.page;
        cursorSent = read.page.cursor;
      }
    } finally {
      prefetch.abort();
    }
  }

  private startFetch(query: PageQuery, request: PageRequest, signal: AbortSignal): PageFetch {
    return new PageFetch((peek) => this.fetchEnvelope(query, request, signal, peek));
  }

  /**
   * One page from its request, and the request for the page after it, sent before this one is
   * validated. While this page is awaited, the next request leaves as soon as the raw text names
   * the next cursor, and is kept only if the parsed page names the same one. The raw page is not
   * kept once validated: only its records live on while the consumer holds the page.
   */
  private async readPage(
    query: PageQuery,
    request: PageFetch,
    cursorSent: string | null,
    signal: AbortSignal,
  ): Promise<{ page: Page; next: PageFetch | undefined } | undefined> {
    const coldStart = query.cursor === null;
    let early: EarlyFetch | undefined;
    const dropEarly = () => {
      early?.cancel.abort();
      early = undefined;
    };
    request.peek = async (body) => {
      dropEarly(); // a retried attempt's guess no longer holds
      const cursor = pageHint(body, cursorSent);
      if (cursor === null) return;
      const cancel = new AbortController();
      const fetch = this.startFetch(
        query,
        { cursor, coldStart },
        AbortSignal.any([signal, cancel.signal]),
      );
      early = { cursor, fetch, cancel };
      // The request is written on a later turn of the event loop: let it leave before the
      // parse holds the thread.
      await nextTurn();
    };
    let envelope: IntelligenceEnvelope;
    try {
      envelope = await request.envelope;
    } catch (error) {
      dropEarly();
      throw error;
    } finally {
      request.peek = undefined;
    }
    if (envelope.objects.length === 0) {
      dropEarly();
      this.warnIfEmptyPageAnnouncedMore(query, envelope, cursorSent);
      return undefined;
    }
    const { cursor, advanced } = pageCursor(envelope.objects, cursorSent);
    if (cursor === null) {
      dropEarly();
      // Only possible on a cold start's first page: no cursor to persist or to page from.
      this.options.logger.warn(
        'ThreatStream page has no readable update_id on a cold start; stopping this pass',
        { type: query.type, objects: envelope.objects.length },
      );
      return undefined;
    }
    let next: PageFetch | undefined;
    if (this.continues(query, envelope, advanced, cursorSent)) {
      if (early?.cursor === cursor) {
        next = early.fetch;
      } else {
        if (early !== undefined) {
          this.options.logger.debug(
            'ThreatStream early request withdrawn: the page names another cursor',
            {
              type: query.type,
              guessed: early.cursor,
              cursor,
            },
          );
        }
        dropEarly();
        next = this.startFetch(query, { cursor, coldStart }, signal);
        // As above: let the request leave before validating and converting this page.
        await nextTurn();
      }
    } else {
      dropEarly();
    }
    const { records, rejected } = pageRecords(envelope.objects, cursorSent);
    return { page: { records, rejected, cursor, hasMore: next !== undefined }, next };
  }

  private continues(
    query: PageQuery,
    envelope: IntelligenceEnvelope,
    advanced: boolean,
    cursorSent: string | null,
  ): boolean {
    if (envelope.next === null) return false;
    if (!advanced) {
      this.options.logger.warn(
        'ThreatStream page did not move the cursor although more pages are announced; stopping this pass to avoid a loop',
        { type: query.type, cursor: cursorSent, objects: envelope.objects.length },
      );
      return false;
    }
    return true;
  }

  private warnIfEmptyPageAnnouncedMore(
    query: PageQuery,
    envelope: IntelligenceEnvelope,
    cursorSent: string | null,
  ): void {
    if (envelope.next === null) return;
    this.options.logger.warn(
      'ThreatStream returned an empty page although more pages are announced; stopping this pass',
      { type: query.type, cursor: cursorSent },
    );
  }

  private async fetchEnvelope(
    query: PageQuery,
    request: PageRequest,
    signal: AbortSignal,
    peek: (body: string) => Promise<void>,
  ): Promise<IntelligenceEnvelope> {
    const params = buildPageParams(query, request, this.options.pageSize);
    const { maxAttempts } = this.options.retry;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const outcome = await this.transport.send(params, signal, peek);
      const retried = outcome.kind === 'retryable' && attempt < maxAttempts;
      this.options.onRequest?.({
        durationMs: performance.now() - started,
        status: outcome.status,
        attempt,
        retried,
      });
      if (outcome.kind === 'page') {
        this.options.logger.debug('ThreatStream page received', {
          type: query.type,
          query: params.toString(),
          objects: outcome.envelope.objects.length,
          more: outcome.envelope.next !== null,
          attempt,
        });
        return outcome.envelope;
      }
      if (outcome.kind === 'fatal') throw outcome.error;
      if (!retried) {
        throw new ThreatStreamRequestError(
          `ThreatStream request for type ${query.type} failed after ${attempt} attempt(s): ${outcome.reason}`,
          {
            status: typeof outcome.status === 'number' ? outcome.status : undefined,
            cause: outcome.cause,
          },
        );
      }
      const delayMs = retryDelayMs(attempt, outcome.retryAfterMs, this.options.retry);
      this.options.logger.warn('ThreatStream request failed; retrying', {
        type: query.type,
        status: outcome.status,
        reason: outcome.reason,
        attempt,
        maxAttempts,
        delayMs,
      });
      await this.sleep(delayMs, signal);
    }
  }
}
