import { inspect } from 'node:util';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { serializeError } from '../../src/log';
import { sleep } from '../../src/retry';
import {
  ThreatStreamAuthError,
  ThreatStreamClient,
  ThreatStreamRequestError,
  type Page,
  type RequestEvent,
  type ThreatStreamClientOptions,
} from '../../src/threatstream/client';
import {
  API_KEY,
  BASE_URL,
  INTELLIGENCE_URL,
  USERNAME,
  captureLogs,
  clientOptions,
  collectPages,
  intelRecord,
  pageBody,
  pageQuery,
  recordingSleep,
  type CapturedLogs,
} from '../support/threatstream-fixtures';
import { waitUntil } from '../support/wait';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const GOOD_PAGE = pageBody([intelRecord(11), intelRecord(12)]);

type Answer = () => Response | Promise<Response>;

/** Answers the n-th request with answers[n], repeating the last one; returns the request count. */
function serve(...answers: Answer[]): { count: () => number } {
  let calls = 0;
  server.use(http.get(INTELLIGENCE_URL, () => answers[Math.min(calls++, answers.length - 1)]!()));
  return { count: () => calls };
}

const ok: Answer = () => HttpResponse.json(GOOD_PAGE);
const status =
  (code: number, headers: Record<string, string> = {}): Answer =>
  () =>
    new HttpResponse(`{"message":"status ${code}"}`, { status: code, headers });

interface Harness {
  client: ThreatStreamClient;
  logs: CapturedLogs;
  delays: number[];
  events: RequestEvent[];
}

function harness(overrides: Partial<ThreatStreamClientOptions> = {}): Harness {
  const logs = captureLogs();
  const { sleep, delays } = recordingSleep();
  const events: RequestEvent[] = [];
  const client = new ThreatStreamClient(
    clientOptions(logs.logger, { sleep, onRequest: (e) => events.push(e), ...overrides }),
  );
  return { client, logs, delays, events };
}

function run(client: ThreatStreamClient, signal?: AbortSignal): Promise<Page[]> {
  return collectPages(client, pageQuery({ cursor: '10' }), signal);
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('ThreatStreamClient retries', () => {
  test.each([500, 502, 503, 504])('retries HTTP %i and then succeeds', async (code) => {
    const requests = serve(status(code), status(code), ok);
    const { client, delays, events, logs } = harness();

    const pages = await run(client);

    expect(pages[0]!.records).toHaveLength(2);
    expect(requests.count()).toBe(3);
    expect(delays).toHaveLength(2);
    expect(events.map((e) => [e.status, e.attempt, e.retried])).toEqual([
      [code, 1, true],
      [code, 2, true],
      [200, 3, false],
    ]);
    const warnings = logs.entries().filter((e) => e['level'] === 'warn');
    expect(warnings.map((w) => [w['status'], w['attempt']])).toEqual([
      [code, 1],
      [code, 2],
    ]);
  });

  test('429 without Retry-After backs off exponentially with full jitter, capped', async () => {
    serve(status(429), status(429), status(429), status(429), status(429), ok);
    const { client, delays } = harness({
      retry: { attempts: 6, baseDelayMs: 100, maxDelayMs: 500 },
    });

    await run(client);

    const ceilings = [100, 200, 400, 500, 500];
    expect(delays).toHaveLength(5);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(ceilings[i]!);
    });
  });

  test('429 with Retry-After in seconds waits exactly that long', async () => {
    serve(status(429, { 'Retry-After': '7' }), ok);
    const { client, delays } = harness();

    await run(client);

    expect(delays).toEqual([7000]);
  });

  test('429 with Retry-After as an HTTP date waits until then', async () => {
    // The clock stands still, so the wait is exact however long the exchange takes.
    const now = Date.parse('2026-11-22T10:00:00Z');
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
    serve(status(429, { 'Retry-After': new Date(now + 30_000).toUTCString() }), ok);
    const { client, delays } = harness();

    try {
      await run(client);
    } finally {
      clock.mockRestore();
    }

    expect(delays).toEqual([30_000]);
  });

  test('an unreadable Retry-After falls back to backoff', async () => {
    serve(status(503, { 'Retry-After': 'soon' }), ok);
    const { client, delays } = harness();

    await run(client);

    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeLessThanOrEqual(100);
  });

  test('a Retry-After beyond ten minutes is capped', async () => {
    serve(status(503, { 'Retry-After': '86400' }), ok);
    const { client, delays } = harness();

    await run(client);

    expect(delays).toEqual([600_000]);
  });

  test('a server that does not answer in time is retried', async () => {
    const requests = serve(() => delay('infinite').then(() => HttpResponse.json({})), ok);
    const { client, events } = harness({ timeoutMs: 100 });

    const pages = await run(client);

    expect(pages[0]!.records).toHaveLength(2);
    expect(requests.count()).toBe(2);
    expect(events[0]).toMatchObject({ status: 'network_error', attempt: 1, retried: true });
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(90);
  });

  test('a connection reset is retried', async () => {
    const requests = serve(() => HttpResponse.error(), ok);
    const { client, events } = harness();

    await run(client);

    expect(requests.count()).toBe(2);
    expect(events[0]).toMatchObject({ status: 'network_error', retried: true });
  });

  test.each([
    ['an HTML error page', '<html><body>Bad gateway</body></html>'],
    ['a truncated body', JSON.stringify(GOOD_PAGE).slice(0, 60)],
    ['an envelope that is not a page', '{"detail":"maintenance"}'],
  ])('%s is retried', async (_label, body) => {
    const requests = serve(() => new HttpResponse(body, { status: 200 }), ok);
    const { client, logs } = harness();

    const pages = await run(client);

    expect(pages[0]!.records).toHaveLength(2);
    expect(requests.count()).toBe(2);
    expect(logs.entries()).toContainEqual(expect.objectContaining({ status: 200, attempt: 1 }));
  });

  test('exhausting the retry budget fails with the last cause', async () => {
    const requests = serve(() => HttpResponse.error());
    const { client, events } = harness({
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    });

    const error = await failure(run(client));

    expect(error).toBeInstanceOf(ThreatStreamRequestError);
    expect(error.message).toBe(
      'ThreatStream request for type ip failed after 3 attempt(s): connection failed: Network error',
    );
    expect(error.cause).toBeInstanceOf(Error);
    expect(requests.count()).toBe(3);
    expect(events.map((e) => e.retried)).toEqual([true, true, false]);
  });

  test('the last HTTP status is kept when the budget runs out', async () => {
    serve(status(503));
    const { client } = harness({ retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });

    const error = await failure(run(client));

    expect(error).toBeInstanceOf(ThreatStreamRequestError);
    expect((error as ThreatStreamRequestError).status).toBe(503);
  });
});

describe('ThreatStreamClient failures that are not retried', () => {
  test.each([401, 403])('HTTP %i is a clear credentials error at once', async (code) => {
    const requests = serve(status(code));
    const { client, delays } = harness();

    const error = await failure(run(client));

    expect(error).toBeInstanceOf(ThreatStreamAuthError);
    expect(error.message).toBe(
      `ThreatStream rejected the credentials (HTTP ${code}): check ANOMALI_USERNAME and ANOMALI_API_KEY`,
    );
    expect(requests.count()).toBe(1);
    expect(delays).toEqual([]);
  });

  test.each([400, 404, 409])('HTTP %i fails at once with the status', async (code) => {
    const requests = serve(status(code));
    const { client } = harness();

    const error = await failure(run(client));

    expect(error).toBeInstanceOf(ThreatStreamRequestError);
    expect((error as ThreatStreamRequestError).status).toBe(code);
    expect(error.message).toContain(`HTTP ${code}`);
    expect(requests.count()).toBe(1);
  });

  test('a redirect is not followed, so the credentials never leave the configured host', async () => {
    const elsewhere = jest.fn(() => HttpResponse.json(GOOD_PAGE));
    server.use(http.get('http://127.0.0.1:10/*', elsewhere));
    const requests = serve(status(302, { Location: 'http://127.0.0.1:10/api/v2/intelligence/' }));
    const { client } = harness();

    const error = await failure(run(client));

    expect(error).toBeInstanceOf(ThreatStreamRequestError);
    expect((error as ThreatStreamRequestError).status).toBe(302);
    expect(error.message).toContain('HTTP 302');
    expect(error.message).toContain('http://127.0.0.1:10/api/v2/intelligence/');
    expect(requests.count()).toBe(1);
    expect(elsewhere).not.toHaveBeenCalled();
  });

  test('a body over maxResponseBytes is refused without retrying', async () => {
    const big = pageBody(Array.from({ length: 50 }, (_, i) => intelRecord(11 + i)));
    const requests = serve(() => HttpResponse.json(big));
    const { client } = harness({ maxResponseBytes: 4096 });

    const error = await failure(run(client));

    expect(error).toBeInstanceOf(ThreatStreamRequestError);
    expect(error.message).toContain('larger than the 4096-byte limit');
    expect(requests.count()).toBe(1);
  });
});

describe('ThreatStreamClient abort', () => {
  test('an aborted signal stops before any request', async () => {
    const requests = serve(ok);
    const { client } = harness();

    const error = await failure(run(client, AbortSignal.abort()));

    expect(error.name).toBe('AbortError');
    expect(requests.count()).toBe(0);
  });

  // In both, what is aborted would last longer than the test may: only the abort ends it in time.
  test('abort stops a request in flight promptly', async () => {
    const requests = serve(() => delay('infinite').then(() => HttpResponse.json(GOOD_PAGE)));
    const { client } = harness({ timeoutMs: 60_000 });
    const controller = new AbortController();

    const running = failure(run(client, controller.signal));
    await waitUntil(() => requests.count() > 0);
    controller.abort();
    const error = await running;

    expect(error.name).toBe('AbortError');
  });

  test('abort stops a retry pause promptly', async () => {
    serve(status(429, { 'Retry-After': '600' }));
    const logs = captureLogs();
    // The real, timer-based sleep, told about: the pause would last ten minutes.
    let paused = false;
    const pause = (ms: number, signal?: AbortSignal) => {
      paused = true;
      return sleep(ms, signal);
    };
    const client = new ThreatStreamClient(clientOptions(logs.logger, { sleep: pause }));
    const controller = new AbortController();

    const running = failure(run(client, controller.signal));
    await waitUntil(() => paused);
    controller.abort();
    const error = await running;

    expect(error.name).toBe('AbortError');
  });
});

describe('ThreatStreamClient keeps the API key secret', () => {
  const scenarios: Array<[string, Answer[], Partial<ThreatStreamClientOptions>]> = [
    ['401', [status(401)], {}],
    ['403', [status(403)], {}],
    [
      '400 echoing the credentials',
      [() => new HttpResponse(`bad ${API_KEY}`, { status: 400 })],
      {},
    ],
    ['exhausted 503', [status(503)], {}],
    ['connection reset', [() => HttpResponse.error()], {}],
    ['timeout', [() => delay('infinite').then(() => HttpResponse.json({}))], { timeoutMs: 30 }],
    ['non-JSON', [() => new HttpResponse(`<p>${API_KEY}</p>`, { status: 200 })], {}],
    ['oversized', [ok], { maxResponseBytes: 10 }],
    ['redirect', [status(301, { Location: `${BASE_URL}/moved?api_key=${API_KEY}` })], {}],
  ];

  test.each(scenarios)('%s', async (_label, answers, overrides) => {
    serve(...answers);
    const { client, logs } = harness({
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      ...overrides,
    });

    const error = await failure(run(client));

    const exposures = [
      logs.text(),
      error.message,
      JSON.stringify(serializeError(error)),
      inspect(error, { depth: Infinity, showHidden: true }),
    ];
    for (const text of exposures) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(`${USERNAME}:`);
    }
  });
});
