import { setImmediate as nextTurn } from 'node:timers/promises';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { ThreatStreamClient, type Page, type PageQuery } from '../../src/threatstream/client';
import {
  AUTHORIZATION,
  API_KEY,
  COLD_START_FROM,
  INTELLIGENCE_URL,
  NEXT_LINK,
  UNTIL,
  captureLogs,
  clientOptions,
  collectPages,
  intelRecord,
  pageBody,
  pageQuery,
  paramsOf,
} from '../support/threatstream-fixtures';
import { waitUntil } from '../support/wait';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  server.events.removeAllListeners();
});
afterAll(() => server.close());

/**
 * Serves pages from a list of update_ids per type, honouring update_id__gt and limit like
 * ThreatStream.
 */
function serveFeed(feeds: Record<string, number[]>, seen: Array<Record<string, string>>) {
  server.use(
    http.get(INTELLIGENCE_URL, ({ request }) => {
      const params = paramsOf(request);
      seen.push(params);
      const above = Number(params['update_id__gt'] ?? '0');
      const limit = Number(params['limit']);
      const remaining = (feeds[params['type']!] ?? []).filter((id) => id > above);
      const objects = remaining.slice(0, limit).map((id) => intelRecord(id));
      return HttpResponse.json(pageBody(objects, remaining.length > limit ? NEXT_LINK : null));
    }),
  );
}

function serveSequence(bodies: unknown[], seen: Array<Record<string, string>> = []) {
  let call = 0;
  server.use(
    http.get(INTELLIGENCE_URL, ({ request }) => {
      seen.push(paramsOf(request));
      const body = bodies[Math.min(call++, bodies.length - 1)];
      return HttpResponse.json(body as Record<string, unknown>);
    }),
  );
}

const updateIds = (page: Page) => page.records.map((r) => r.update_id);

/** The pages of one type's pass, each as `{ page }`; a failure is thrown. */
async function* feed(client: ThreatStreamClient, query: PageQuery) {
  for await (const item of client.pages([query], new AbortController().signal)) {
    if ('failure' in item) throw item.failure;
    yield item;
  }
}

describe('ThreatStreamClient paging', () => {
  test('pages one type by update_id and sends only header authentication', async () => {
    const seen: Array<Record<string, string>> = [];
    const headers: string[] = [];
    const urls: string[] = [];
    server.events.on('request:start', ({ request }) => {
      headers.push(request.headers.get('authorization') ?? '');
      urls.push(request.url);
    });
    serveFeed({ ip: [1001, 1002, 1003, 1004, 1005, 1006, 1007] }, seen);
    const { logger } = captureLogs();
    const client = new ThreatStreamClient(clientOptions(logger));

    const pages = await collectPages(client, pageQuery({ cursor: '1000' }));

    expect(pages.map(updateIds)).toEqual([
      ['1001', '1002', '1003'],
      ['1004', '1005', '1006'],
      ['1007'],
    ]);
    expect(pages.map((p) => [p.cursor, p.hasMore])).toEqual([
      ['1003', true],
      ['1006', true],
      ['1007', false],
    ]);
    expect(seen.map((p) => p['update_id__gt'])).toEqual(['1000', '1003', '1006']);
    expect(headers).toEqual([AUTHORIZATION, AUTHORIZATION, AUTHORIZATION]);
    expect(urls.filter((url) => url.includes(API_KEY) || url.includes('api_key'))).toEqual([]);
  });

  test('keeps cursors of different types independent', async () => {
    const seen: Array<Record<string, string>> = [];
    serveFeed({ ip: [10, 20, 30, 40], domain: [15, 25, 35], md5: [5, 50] }, seen);
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));

    const ip = await collectPages(client, pageQuery({ type: 'ip', cursor: '20' }));
    const domain = await collectPages(client, pageQuery({ type: 'domain', cursor: '5' }));
    const hash = await collectPages(client, pageQuery({ type: 'hash', cursor: '5' }));

    expect(ip.flatMap(updateIds)).toEqual(['30', '40']);
    expect(domain.flatMap(updateIds)).toEqual(['15', '25', '35']);
    expect(hash.flatMap(updateIds)).toEqual(['50']);
    expect(seen.map((p) => `${p['type']}>${p['update_id__gt']}`)).toEqual([
      'ip>20',
      'domain>5',
      'md5>5',
    ]);
  });

  test('a cold start filters on active records since the look-back on every page', async () => {
    const seen: Array<Record<string, string>> = [];
    serveFeed({ md5: [7, 8, 9, 10] }, seen);
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));

    await collectPages(client, pageQuery({ type: 'hash', cursor: null }));

    const coldStart = {
      order_by: 'update_id',
      limit: '3',
      type: 'md5',
      status: 'active',
      modified_ts__gte: COLD_START_FROM.toISOString(),
      modified_ts__lt: UNTIL.toISOString(),
    };
    expect(seen).toEqual([coldStart, { ...coldStart, update_id__gt: '9' }]);
    expect(seen[0]!['modified_ts__lt']).toBe('2026-03-01T12:00:00.000Z');
  });

  test('an incremental pass sends no status filter, so deactivations arrive', async () => {
    const seen: Array<Record<string, string>> = [];
    serveFeed({ url: [101] }, seen);
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));

    await collectPages(
      client,
      pageQuery({
        type: 'url',
        cursor: '100',
        minConfidence: 40,
        feedIds: ['9241', '1103'],
        trustedCircleIds: ['10015', '7'],
      }),
    );

    expect(seen).toEqual([
      {
        order_by: 'update_id',
        limit: '3',
        type: 'url',
        modified_ts__lt: UNTIL.toISOString(),
        update_id__gt: '100',
        confidence__gte: '40',
        feed_id: '9241,1103',
        trusted_circle_ids: '10015,7',
      },
    ]);
  });

  test('stops when meta.next is null even if the page is full', async () => {
    const seen: Array<Record<string, string>> = [];
    serveSequence([pageBody([intelRecord(2), intelRecord(3), intelRecord(4)], null)], seen);
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));

    const pages = await collectPages(client, pageQuery({ cursor: '1' }));

    expect(pages).toHaveLength(1);
    expect(pages[0]!.hasMore).toBe(false);
    expect(seen).toHaveLength(1);
  });

  test('an empty page with next set ends the pass with a warning and yields nothing', async () => {
    const seen: Array<Record<string, string>> = [];
    serveSequence([pageBody([], NEXT_LINK)], seen);
    const logs = captureLogs();
    const client = new ThreatStreamClient(clientOptions(logs.logger));

    const pages = await collectPages(client, pageQuery({ cursor: '1' }));

    expect(pages).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(logs.has('warn', 'empty page')).toBe(true);
  });

  test('a page that does not move the cursor ends the pass instead of looping', async () => {
    const seen: Array<Record<string, string>> = [];
    serveSequence([pageBody([intelRecord(40), intelRecord(50)], NEXT_LINK)], seen);
    const logs = captureLogs();
    const client = new ThreatStreamClient(clientOptions(logs.logger));

    const pages = await collectPages(client, pageQuery({ cursor: '50' }));

    expect(seen).toHaveLength(1);
    expect(pages).toHaveLength(1);
    expect(pages[0]).toMatchObject({ records: [], cursor: '50', hasMore: false });
    expect(pages[0]!.rejected.map((r) => [r.updateId, r.reason])).toEqual([
      ['40', 'stale_update_id'],
      ['50', 'stale_update_id'],
    ]);
    expect(logs.has('warn', 'did not move the cursor')).toBe(true);
  });

  test('the cursor is the greatest update_id of the page, compared as a number', async () => {
    const seen: Array<Record<string, string>> = [];
    serveSequence(
      [
        pageBody([intelRecord('99'), intelRecord('100'), intelRecord('98')], NEXT_LINK),
        pageBody([intelRecord('9007199254740993'), intelRecord('101')], null),
      ],
      seen,
    );
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));

    const pages = await collectPages(client, pageQuery({ cursor: '97' }));

    expect(pages.map(updateIds)).toEqual([
      ['99', '100', '98'],
      ['9007199254740993', '101'],
    ]);
    expect(pages.map((p) => p.cursor)).toEqual(['100', '9007199254740993']);
    expect(seen.map((p) => p['update_id__gt'])).toEqual(['97', '100']);
  });

  test('records at or below the cursor sent are skipped and reported as stale', async () => {
    serveSequence([pageBody([intelRecord(90), intelRecord(101), intelRecord(100)])]);
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));

    const [page] = await collectPages(client, pageQuery({ cursor: '100' }));

    expect(updateIds(page!)).toEqual(['101']);
    expect(page!.rejected).toEqual([
      expect.objectContaining({ updateId: '90', reason: 'stale_update_id' }),
      expect.objectContaining({ updateId: '100', reason: 'stale_update_id' }),
    ]);
    expect(page!.cursor).toBe('101');
  });

  test('a record repeated on the next page is delivered once', async () => {
    serveSequence([
      pageBody([intelRecord(1), intelRecord(2), intelRecord(3)], NEXT_LINK),
      pageBody([intelRecord(3), intelRecord(4)], null),
    ]);
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));

    const pages = await collectPages(client, pageQuery({ cursor: null }));

    expect(pages.flatMap(updateIds)).toEqual(['1', '2', '3', '4']);
    expect(pages[1]!.rejected).toEqual([
      expect.objectContaining({ updateId: '3', reason: 'stale_update_id' }),
    ]);
  });

  test('malformed records are reported with their ids while the rest of the page is kept', async () => {
    serveSequence([
      pageBody([
        intelRecord(11),
        intelRecord(12, { value: 42 }),
        { id: 'not-a-number', garbage: true },
        null,
        intelRecord(13),
        intelRecord(19, { created_ts: undefined }),
      ]),
    ]);
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));

    const [page] = await collectPages(client, pageQuery({ cursor: '10' }));

    expect(updateIds(page!)).toEqual(['11', '13']);
    expect(page!.rejected.map((r) => [r.id, r.updateId, r.reason])).toEqual([
      [String(500_012), '12', 'malformed_record'],
      [null, null, 'malformed_record'],
      [null, null, 'malformed_record'],
      [String(500_019), '19', 'malformed_record'],
    ]);
    // The cursor moves past a malformed record whose update_id could be read.
    expect(page!.cursor).toBe('19');
  });

  test('prefetches exactly one page ahead while the consumer holds a page', async () => {
    const ids = Array.from({ length: 15 }, (_, i) => 101 + i);
    const seen: Array<Record<string, string>> = [];
    serveFeed({ ip: ids }, seen);
    let answered = 0;
    const onRequest = () => (answered += 1);
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger, { onRequest }));

    const inFlightWhileHolding: number[] = [];
    let consumed = 0;
    for await (const { page } of feed(client, pageQuery({ cursor: '100' }))) {
      consumed += 1;
      // Give a runaway prefetcher every chance to fetch more than one page ahead: the page
      // ahead is in, and it had a turn of the event loop to act on it.
      await waitUntil(() => answered === seen.length);
      await nextTurn();
      inFlightWhileHolding.push(seen.length - consumed);
      expect(page.records).toHaveLength(3);
    }

    expect(consumed).toBe(5);
    expect(inFlightWhileHolding).toEqual([1, 1, 1, 1, 0]);
  });

  test('the next page is requested before the consumer gets the page, not after converting it', async () => {
    const ids = Array.from({ length: 9 }, (_, i) => 101 + i);
    const seen: Array<Record<string, string>> = [];
    serveFeed({ ip: ids }, seen);
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));

    const requestedOnArrival: string[] = [];
    for await (const { page } of feed(client, pageQuery({ cursor: '100' }))) {
      // Read before the consumer yields the thread: conversion is synchronous work.
      requestedOnArrival.push(seen.map((q) => q['update_id__gt']).join(','));
      expect(page.records).toHaveLength(3);
    }

    expect(requestedOnArrival).toEqual(['100,103', '100,103,106', '100,103,106']);
  });

  test("after a type's last page, the next type's first page is requested before the consumer gets it", async () => {
    const seen: Array<Record<string, string>> = [];
    serveFeed({ ip: [101, 102, 103, 104], domain: [7] }, seen);
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));
    const queries = [pageQuery({ cursor: '100' }), pageQuery({ type: 'domain', cursor: '1' })];

    const requestedOnArrival: string[] = [];
    for await (const item of client.pages(queries, new AbortController().signal)) {
      const { cursor } = (item as { page: Page }).page;
      requestedOnArrival.push(`${item.type} ${cursor}: ${seen.map((q) => q['type']).join(',')}`);
    }

    expect(requestedOnArrival).toEqual([
      'ip 103: ip,ip',
      'ip 104: ip,ip,domain',
      'domain 7: ip,ip,domain',
    ]);
  });

  test('a nested update_id does not move the cursor: only records carry one', async () => {
    const seen: Array<Record<string, string>> = [];
    server.use(
      http.get(INTELLIGENCE_URL, ({ request }) => {
        const params = paramsOf(request);
        seen.push(params);
        const above = params['update_id__gt'];
        if (above === '1') {
          const decoy = intelRecord(5, { meta: { severity: 'high', update_id: 999 } });
          return HttpResponse.json(pageBody([intelRecord(4), decoy], NEXT_LINK));
        }
        return HttpResponse.json(pageBody([intelRecord(Number(above) + 1)], null));
      }),
    );
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));

    const pages = await collectPages(client, pageQuery({ cursor: '1' }));

    expect(pages.map((page) => [page.cursor, updateIds(page)])).toEqual([
      ['5', ['4', '5']],
      ['6', ['6']],
    ]);
    expect(seen.map((q) => q['update_id__gt'])).toEqual(['1', '5']);
  });

  test('a truncated answer is retried, and paging goes on from the whole page', async () => {
    const seen: Array<Record<string, string>> = [];
    const page1 = JSON.stringify(pageBody([intelRecord(7), intelRecord(8)], NEXT_LINK));
    let firstAnswers = 0;
    server.use(
      http.get(INTELLIGENCE_URL, ({ request }) => {
        const params = paramsOf(request);
        seen.push(params);
        if (params['update_id__gt'] === '5') {
          firstAnswers += 1;
          // Cut before the last record: not JSON, so retried.
          const body =
            firstAnswers === 1 ? page1.slice(0, page1.lastIndexOf('"update_id"')) : page1;
          return new HttpResponse(body, { headers: { 'content-type': 'application/json' } });
        }
        return HttpResponse.json(pageBody([intelRecord(9)], null));
      }),
    );
    const sleep = () => Promise.resolve();
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger, { sleep }));

    const pages = await collectPages(client, pageQuery({ cursor: '5' }));

    expect(pages.map((page) => [page.cursor, updateIds(page)])).toEqual([
      ['8', ['7', '8']],
      ['9', ['9']],
    ]);
    const cursorsAsked = seen.map((q) => q['update_id__gt']);
    expect(cursorsAsked.filter((cursor) => cursor === '5')).toHaveLength(2);
    expect(cursorsAsked.at(-1)).toBe('8');
  });

  test('a consumer that stops early abandons the prefetch without an unhandled rejection', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    let call = 0;
    server.use(
      http.get(INTELLIGENCE_URL, () => {
        call += 1;
        if (call === 1) return HttpResponse.json(pageBody([intelRecord(5)], NEXT_LINK));
        return new HttpResponse('busy', { status: 503 });
      }),
    );
    // The prefetch fails once and pauses before retrying; that pause must be cancelled.
    let pauseSignal: AbortSignal | undefined;
    let paused!: () => void;
    const pausing = new Promise<void>((resolve) => (paused = resolve));
    const sleep = (_ms: number, signal?: AbortSignal) =>
      new Promise<void>((_resolve, reject) => {
        pauseSignal = signal;
        paused();
        signal?.addEventListener('abort', () => reject(signal.reason as Error));
      });
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger, { sleep }));

    for await (const { page } of feed(client, pageQuery({ cursor: '1' }))) {
      expect(page.cursor).toBe('5');
      await pausing;
      break;
    }
    // Node reports an unhandled rejection at the end of the turn it happened in.
    await nextTurn();

    process.off('unhandledRejection', unhandled);
    expect(call).toBe(2);
    expect(pauseSignal?.aborted).toBe(true);
    expect(unhandled).not.toHaveBeenCalled();
  });

  test("a failure of the page requested ahead ends that type's pass and the next type goes on", async () => {
    let call = 0;
    server.use(
      http.get(INTELLIGENCE_URL, ({ request }) => {
        if (paramsOf(request)['type'] === 'url')
          return HttpResponse.json(pageBody([intelRecord(3)]));
        call += 1;
        if (call === 1) return HttpResponse.json(pageBody([intelRecord(5)], NEXT_LINK));
        return new HttpResponse('no', { status: 400 });
      }),
    );
    const client = new ThreatStreamClient(clientOptions(captureLogs().logger));
    const queries = [pageQuery({ cursor: '1' }), pageQuery({ type: 'url', cursor: '1' })];
    const pages = client.pages(queries, new AbortController().signal);

    await expect(pages.next()).resolves.toMatchObject({ value: { page: { cursor: '5' } } });
    const failed = await pages.next();
    expect(failed.value).toMatchObject({ type: 'ip' });
    expect(String((failed.value as { failure: Error }).failure)).toContain('HTTP 400');
    await expect(pages.next()).resolves.toMatchObject({ value: { type: 'url', page: {} } });
  });

  test('rejects page sizes ThreatStream would not honour', () => {
    const { logger } = captureLogs();
    expect(() => new ThreatStreamClient(clientOptions(logger, { pageSize: 0 }))).toThrow(
      RangeError,
    );
    expect(() => new ThreatStreamClient(clientOptions(logger, { pageSize: 1001 }))).toThrow(
      RangeError,
    );
  });

  test('warns once at construction when TLS verification is off', () => {
    const logs = captureLogs();
    new ThreatStreamClient(clientOptions(logs.logger, { sslVerify: false }));
    const warnings = logs.entries().filter((e) => e['level'] === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!['message']).toContain('TLS certificate verification');
  });
});
