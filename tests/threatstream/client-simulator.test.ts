import { silentLogger } from '../../src/log';
import { IOC_TYPES, type IocType } from '../../src/ioc-types';
import {
  ThreatStreamAuthError,
  ThreatStreamClient,
  type Page,
  type PageQuery,
  type ThreatStreamClientOptions,
} from '../../src/threatstream/client';
import {
  expectedRecords,
  modifiedAt,
  startSimulator,
  type ThreatStreamSimulator,
  type ThreatStreamType,
} from '../../stand-ins/threatstream/simulator';
import { collectPages, recordingSleep } from '../support/threatstream-fixtures';
import { waitUntil } from '../support/wait';

/** The client against the real simulator over loopback: wire format, sockets and all. */

const USERNAME = 'pipeline@example.org';
const API_KEY = 'pipeline-key-9f86d081884c7d65';
const SEED = 11;
const TOTAL = 3000;

let sim: ThreatStreamSimulator;
beforeEach(async () => {
  sim = await startSimulator({ username: USERNAME, apiKey: API_KEY, total: TOTAL, seed: SEED });
});
afterEach(() => sim.close());

function client(overrides: Partial<ThreatStreamClientOptions> = {}): ThreatStreamClient {
  return new ThreatStreamClient({
    baseUrl: sim.url,
    username: USERNAME,
    apiKey: API_KEY,
    sslVerify: true,
    pageSize: 100,
    timeoutMs: 5000,
    maxResponseBytes: 5_000_000,
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    logger: silentLogger(),
    sleep: recordingSleep().sleep,
    ...overrides,
  });
}

function query(type: IocType, cursor: string | null, overrides: Partial<PageQuery> = {}) {
  return {
    type,
    cursor,
    coldStartFrom: new Date(modifiedAt(500)),
    until: new Date(modifiedAt(TOTAL + 100)),
    feedIds: [],
    trustedCircleIds: [],
    ...overrides,
  };
}

const wireType = (type: IocType): ThreatStreamType => (type === 'hash' ? 'md5' : type);
const ids = (pages: Page[]) => pages.flatMap((p) => p.records.map((r) => r.id));

/** What a cold start of the type should deliver: active records modified in [index 500, until). */
function coldStartRecords(type: IocType, until: Date) {
  return [...expectedRecords(TOTAL, wireType(type), { seed: SEED })].filter(
    (r) =>
      r.status === 'active' &&
      Date.parse(r.modified_ts) >= modifiedAt(500) &&
      Date.parse(r.modified_ts) < until.getTime(),
  );
}

test.each(IOC_TYPES)(
  'a cold start of type %s receives exactly its active records in the window',
  async (type) => {
    const until = new Date(modifiedAt(2500));

    const pages = await collectPages(client(), query(type, null, { until }));

    const expected = coldStartRecords(type, until);
    expect(ids(pages)).toEqual(expected.map((r) => String(r.id)));
    expect(pages.flatMap((p) => p.rejected)).toEqual([]);
    expect(pages.at(-1)).toMatchObject({
      cursor: String(expected.at(-1)!.update_id),
      hasMore: false,
    });
    expect(sim.requests.recent.every((r) => r.query['status'] === 'active')).toBe(true);
  },
);

test('an incremental pass picks up new records and deactivations after the cursor', async () => {
  const first = await collectPages(client(), query('domain', null));
  const cursor = first.at(-1)!.cursor;
  const domainIndex = 601;
  expect(sim.recordAt(domainIndex)).toMatchObject({ type: 'domain', status: 'active' });

  const deactivated = sim.mutate(domainIndex, { status: 'inactive' });
  sim.setTotal(TOTAL + 60);
  const second = await collectPages(
    client(),
    query('domain', cursor, { until: new Date(modifiedAt(TOTAL + 200)) }),
  );

  const added = [...expectedRecords(TOTAL + 60, 'domain', { seed: SEED })].filter(
    (r) => r.update_id > deactivated.update_id,
  );
  expect(second.flatMap((p) => p.records.map((r) => [r.id, r.status]))).toEqual([
    [String(deactivated.id), 'inactive'],
    ...added.map((r) => [String(r.id), r.status]),
  ]);
  expect(sim.requests.recent.at(-1)!.query['status']).toBeUndefined();
});

test('a dropped connection, a hung request and a truncated body are retried', async () => {
  let call = 0;
  sim.fault = () => {
    call += 1;
    if (call === 1) return 'reset';
    if (call === 2) return 'hang';
    if (call === 3) return { status: 200, body: '{"meta":{"next":null},"objects":[{"id":1' };
    return undefined;
  };

  const pages = await collectPages(
    client({ timeoutMs: 200, retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 } }),
    query('email', null),
  );

  const expected = coldStartRecords('email', new Date(modifiedAt(TOTAL + 100)));
  expect(ids(pages)).toEqual(expected.map((r) => String(r.id)));
  expect(call).toBe(3 + pages.length);
});

test('wrong credentials fail at once with the credentials error', async () => {
  const wrong = client({ apiKey: 'not-the-key' });

  await expect(collectPages(wrong, query('ip', null))).rejects.toBeInstanceOf(
    ThreatStreamAuthError,
  );
  expect(sim.requests.count).toBe(1);
});

test('abort ends a pass promptly while the server hangs', async () => {
  sim.fault = () => 'hang';
  const controller = new AbortController();

  // The request's time limit is longer than the test's: only the abort can end the pass in time.
  const pass = collectPages(client({ timeoutMs: 60_000 }), query('url', null), controller.signal);
  await waitUntil(() => sim.requests.count > 0);
  controller.abort();

  await expect(pass).rejects.toMatchObject({ name: 'AbortError' });
});
