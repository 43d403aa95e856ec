import { setImmediate as nextTurn } from 'node:timers/promises';
import { intelligenceRecordSchema } from '../../src/threatstream/schema';
import {
  DEFAULT_START_TIME,
  THREATSTREAM_TYPES,
  expectedRecords,
  modifiedAt,
  recordAt,
  startSimulator,
  updateIdAt,
  type SimulatedRecord,
  type ThreatStreamSimulator,
} from '../../stand-ins/threatstream/simulator';

const USERNAME = 'sim@example.org';
const API_KEY = 'sim-key-0123456789abcdef';
const AUTH = { Authorization: `apikey ${USERNAME}:${API_KEY}` };

interface Answer {
  status: number;
  body: {
    meta: {
      next: string | null;
      limit: number;
      offset: number;
      total_count: number;
      took: number;
      approximate_count?: boolean;
    };
    objects: SimulatedRecord[];
    error?: string;
  };
}

async function get(
  sim: ThreatStreamSimulator,
  params: Record<string, string>,
  headers: Record<string, string> = AUTH,
): Promise<Answer> {
  const query = new URLSearchParams({ order_by: 'update_id', ...params });
  const response = await fetch(`${sim.url}/api/v2/intelligence/?${query.toString()}`, { headers });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** The answer's text with `took` (a duration) zeroed, to compare answers byte for byte. */
async function text(sim: ThreatStreamSimulator, params: Record<string, string>): Promise<string> {
  const query = new URLSearchParams({ order_by: 'update_id', ...params });
  const response = await fetch(`${sim.url}/api/v2/intelligence/?${query.toString()}`, {
    headers: AUTH,
  });
  return (await response.text()).replace(/"took":\d+/, '"took":0');
}

/** Pages one type to the end with update_id__gt, as the connector does. */
async function pageAll(
  sim: ThreatStreamSimulator,
  params: Record<string, string>,
  cursor = '0',
): Promise<{ records: SimulatedRecord[]; cursor: string; requests: number }> {
  const records: SimulatedRecord[] = [];
  let requests = 0;
  for (;;) {
    requests += 1;
    const { body } = await get(sim, { ...params, update_id__gt: cursor });
    records.push(...body.objects);
    if (body.objects.length > 0) cursor = String(body.objects.at(-1)!.update_id);
    if (body.meta.next === null) return { records, cursor, requests };
  }
}

const simulators: ThreatStreamSimulator[] = [];
async function simulator(total: number, seed = 7): Promise<ThreatStreamSimulator> {
  const sim = await startSimulator({ username: USERNAME, apiKey: API_KEY, total, seed });
  simulators.push(sim);
  return sim;
}
afterEach(async () => {
  await Promise.all(simulators.splice(0).map((sim) => sim.close()));
});

describe('simulated records', () => {
  test('are a pure function of seed and index', () => {
    expect(recordAt(123, { seed: 5 })).toEqual(recordAt(123, { seed: 5 }));
    expect(recordAt(123, { seed: 5 }).value).not.toEqual(recordAt(123, { seed: 6 }).value);
  });

  test('every one parses as a ThreatStream v2 record', () => {
    for (let i = 0; i < 2000; i++) {
      expect(intelligenceRecordSchema.safeParse(recordAt(i)).success).toBe(true);
    }
  });

  test('cover the types, subtypes, itypes, statuses and odd values a connector must handle', () => {
    const records = Array.from({ length: 4000 }, (_, i) => recordAt(i));
    const seen = (pick: (r: SimulatedRecord) => unknown) => new Set(records.map(pick));

    expect(seen((r) => r.type)).toEqual(new Set(THREATSTREAM_TYPES));
    expect(seen((r) => (r.type === 'md5' ? r.subtype : 'n/a'))).toEqual(
      new Set(['MD5', 'SHA1', 'SHA256', 'SHA512', 'n/a']),
    );
    const stringItypes = seen((r) => (r.type === 'string' ? r.itype : undefined));
    for (const itype of [
      'mal_mutex',
      'mal_file_name',
      'mal_ssdeep',
      'mal_ua',
      'mal_registry_key',
      'crypto_wallet',
      'exploit_cve_id',
    ]) {
      expect(stringItypes).toContain(itype);
    }
    expect(records.some((r) => r.type === 'ip' && r.value.includes(':'))).toBe(true);
    expect(records.some((r) => r.type === 'ipv6' && r.value.includes(':'))).toBe(true);
    expect(seen((r) => r.status)).toEqual(new Set(['active', 'inactive', 'falsepos']));
    expect(records.filter((r) => r.status === 'active').length / records.length).toBeGreaterThan(
      0.8,
    );
    expect(records.some((r) => r.confidence === -1)).toBe(true);
    expect(records.some((r) => r.tags === null)).toBe(true);
    expect(records.some((r) => r.tags !== null && r.tags.length > 0)).toBe(true);
    expect(records.filter((r) => r.tlp === null).length).toBeGreaterThan(records.length / 2);
    expect(records.some((r) => r.tlp !== null)).toBe(true);
    expect(seen((r) => r.expiration_ts)).toContain('9999-12-31T00:00:00.000Z');
    expect(seen((r) => r.expiration_ts)).toContain('2318-07-09T20:41:16.995Z');
  });

  test('update_id strictly increases and modified_ts never decreases with the index', () => {
    for (let i = 1; i < 500; i++) {
      expect(recordAt(i).update_id).toBeGreaterThan(recordAt(i - 1).update_id);
      expect(recordAt(i).modified_ts >= recordAt(i - 1).modified_ts).toBe(true);
    }
    expect(recordAt(0).modified_ts).toBe(DEFAULT_START_TIME.toISOString());
  });

  test('with nonActiveShare, about that share of every type is inactive or a false positive', () => {
    const records = Array.from({ length: 20_000 }, (_, i) => recordAt(i, { nonActiveShare: 0.3 }));
    for (const type of THREATSTREAM_TYPES) {
      const ofType = records.filter((r) => r.type === type);
      const share = ofType.filter((r) => r.status !== 'active').length / ofType.length;
      expect(Math.abs(share - 0.3)).toBeLessThan(0.03);
    }
    expect(new Set(records.map((r) => r.status))).toEqual(
      new Set(['active', 'inactive', 'falsepos']),
    );
    // The default share is the feed every other test sees.
    for (let i = 0; i < 200; i++) expect(recordAt(i, { nonActiveShare: 0.1 })).toEqual(recordAt(i));
    // The same IOCs as without the option: only their statuses are chosen differently.
    for (const i of [0, 9, 19, 555]) {
      const { id, value, type, modified_ts } = recordAt(i);
      expect(recordAt(i, { nonActiveShare: 0.3 })).toMatchObject({ id, value, type, modified_ts });
    }
  });
});

describe('ThreatStream simulator', () => {
  test('answers the same query identically from the same seed', async () => {
    const [a, b] = [await simulator(300), await simulator(300)];
    const params = { type: 'domain', limit: '40', update_id__gt: String(updateIdAt(17)) };

    const [first, second] = [await get(a, params), await get(b, params)];

    expect(first.body.objects).toEqual(second.body.objects);
    expect(first.body.objects).toHaveLength(40);
  });

  test('refuses a wrong or missing Authorization header with 401', async () => {
    const sim = await simulator(10);

    expect((await get(sim, {}, {})).status).toBe(401);
    expect((await get(sim, {}, { Authorization: `apikey ${USERNAME}:wrong` })).status).toBe(401);
    expect((await get(sim, {})).status).toBe(200);
    expect(sim.requests.recent.map((r) => r.authorized)).toEqual([false, false, true]);
  });

  test('filters by type, with hash as an alias of md5', async () => {
    const sim = await simulator(500);

    for (const type of THREATSTREAM_TYPES) {
      const { body } = await get(sim, { type, limit: '1000' });
      expect(body.objects.length).toBeGreaterThan(0);
      expect(body.objects.every((r) => r.type === type)).toBe(true);
      expect(body.meta.total_count).toBe(body.objects.length);
    }
    const hashes = await get(sim, { type: 'hash', limit: '1000' });
    expect(hashes.body.objects.map((r) => r.id)).toEqual(
      [...expectedRecords(500, 'md5', { seed: 7 })].map((r) => r.id),
    );
  });

  test('paging with update_id__gt returns every record of a type exactly once, in order', async () => {
    const sim = await simulator(2000);

    const { records, requests } = await pageAll(sim, { type: 'url', limit: '37' });

    const expected = [...expectedRecords(2000, 'url', { seed: 7 })];
    expect(records).toEqual(expected);
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    expect(requests).toBe(Math.ceil(expected.length / 37));
  });

  test('meta looks like ThreatStream: relative next by offset, limit, total_count, took', async () => {
    const sim = await simulator(100);

    const { body } = await get(sim, { type: 'ip', limit: '5' });

    expect(body.meta).toMatchObject({ limit: 5, offset: 0, total_count: 25 });
    expect(body.meta.next).toMatch(/^\/api\/v2\/intelligence\/\?.*offset=5/);
    expect(typeof body.meta.took).toBe('number');
    expect((await get(sim, { type: 'ip' })).body.objects).toHaveLength(20);
    expect((await get(sim, { limit: '5000' })).body.meta.limit).toBe(1000);
  });

  test('applies the cold-start filters: status, modified_ts window, confidence', async () => {
    const sim = await simulator(1000);
    const from = new Date(modifiedAt(200)).toISOString();
    const before = new Date(modifiedAt(700)).toISOString();

    const { records } = await pageAll(sim, {
      type: 'ip',
      limit: '50',
      status: 'active',
      modified_ts__gte: from,
      modified_ts__lt: before,
      confidence__gte: '30',
    });

    const expected = [...expectedRecords(1000, 'ip', { seed: 7 })].filter(
      (r) =>
        r.status === 'active' &&
        r.modified_ts >= from &&
        r.modified_ts < before &&
        r.confidence >= 30,
    );
    expect(records.map((r) => r.id)).toEqual(expected.map((r) => r.id));
    expect(records.length).toBeGreaterThan(50);
  });

  test('rejects what the connector must never send', async () => {
    const sim = await simulator(10);

    expect((await get(sim, { confidence_gte: '50' })).status).toBe(400);
    expect((await get(sim, { offset: '1000' })).status).toBe(400);
    expect((await get(sim, { order_by: 'modified_ts' })).status).toBe(400);
    expect((await get(sim, { api_key: API_KEY })).status).toBe(400);
  });

  test('records added with setTotal come after the cursor', async () => {
    const sim = await simulator(300);
    const first = await pageAll(sim, { type: 'email', limit: '100' });

    sim.setTotal(400);
    const second = await pageAll(sim, { type: 'email', limit: '100' }, first.cursor);

    const all = [...expectedRecords(400, 'email', { seed: 7 })];
    expect([...first.records, ...second.records]).toEqual(all);
    expect(second.records.length).toBe(all.length - first.records.length);
    expect(second.records.length).toBeGreaterThan(0);
  });

  test('a mutated record leaves its place and reappears after the cursor', async () => {
    const sim = await simulator(200);
    const first = await pageAll(sim, { type: 'ip', limit: '100' });
    const victim = first.records[3]!;
    const index = victim.id - recordAt(0).id;

    const updated = sim.mutate(index, { status: 'inactive' });
    const second = await pageAll(sim, { type: 'ip', limit: '100' }, first.cursor);
    const again = await pageAll(sim, { type: 'ip', limit: '100' });

    expect(updated.update_id).toBeGreaterThan(Number(first.cursor));
    expect(second.records).toEqual([updated]);
    expect(second.records[0]).toMatchObject({ id: victim.id, status: 'inactive' });
    expect(again.records.filter((r) => r.id === victim.id)).toEqual([updated]);
    expect(again.records.at(-1)).toEqual(updated);
  });

  test.each([
    // Page 400 of the whole feed, and page 100 of its 125,000 ip records (5 of every 20 indices).
    ['page 400 of all types', undefined, 399 * 1000 - 1],
    ['page 100 of type ip', 'ip', 99 * 1000 * 4 - 1],
  ])('%s in a 500,000-record feed costs one page, not the feed', async (_label, type, last) => {
    const sim = await simulator(500_000);

    const before = sim.recordsGenerated;
    const { body } = await get(sim, {
      ...(type === undefined ? {} : { type }),
      limit: '1000',
      update_id__gt: String(updateIdAt(last)),
    });

    expect(body.objects).toHaveLength(1000);
    expect(body.objects[0]).toEqual(recordAt(last + 1, { seed: 7 }));
    expect(body.objects.every((r) => type === undefined || r.type === type)).toBe(true);
    expect(body.meta.next).not.toBeNull();
    // One record past the page at most, to decide whether there is a next one: the cost of a
    // page, counted in records made rather than timed.
    expect(sim.recordsGenerated - before).toBeLessThanOrEqual(1001);
  });

  test('a fault hook can answer instead, drop the connection, or never answer', async () => {
    const sim = await simulator(10);
    sim.fault = (request) =>
      request.query['limit'] === '1'
        ? { status: 503, headers: { 'Retry-After': '2' }, body: 'busy' }
        : request.query['limit'] === '2'
          ? 'reset'
          : undefined;

    const busy = await fetch(`${sim.url}/api/v2/intelligence/?limit=1`, { headers: AUTH });
    expect([busy.status, busy.headers.get('retry-after'), await busy.text()]).toEqual([
      503,
      '2',
      'busy',
    ]);
    await expect(
      fetch(`${sim.url}/api/v2/intelligence/?limit=2`, { headers: AUTH }),
    ).rejects.toThrow();
    expect((await get(sim, { limit: '3' })).status).toBe(200);

    sim.fault = () => 'hang';
    await expect(
      fetch(`${sim.url}/api/v2/intelligence/?limit=3`, {
        headers: AUTH,
        signal: AbortSignal.timeout(100),
      }),
    ).rejects.toThrow();
  });

  test('answers no sooner than the configured latency after the request', async () => {
    const sim = await startSimulator({
      username: USERNAME,
      apiKey: API_KEY,
      total: 5,
      latencyMs: 80,
    });
    simulators.push(sim);
    // Its clock and timers are the test's: the answer may leave only once the test moves time.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      let answered = false;
      const answer = get(sim, { limit: '1' }).finally(() => (answered = true));
      while (sim.requests.count === 0) await nextTurn();
      jest.advanceTimersByTime(79);
      for (let turn = 0; turn < 10; turn++) await nextTurn();
      expect(answered).toBe(false);
      jest.advanceTimersByTime(1);
      expect((await answer).status).toBe(200);
    } finally {
      jest.useRealTimers();
    }
  });

  test('only grows, and only updates records that exist', async () => {
    const sim = await simulator(10);

    expect(() => sim.setTotal(9)).toThrow(RangeError);
    expect(() => sim.mutate(10, { status: 'inactive' })).toThrow(RangeError);
  });

  test('keeps a request count and only the most recent requests', async () => {
    const sim = await simulator(10);

    for (let i = 0; i < 120; i++) await get(sim, { limit: String(i % 5) });

    expect(sim.requests.count).toBe(120);
    expect(sim.requests.recent).toHaveLength(100);
    expect(sim.requests.recent.at(-1)).toEqual({
      method: 'GET',
      path: '/api/v2/intelligence/',
      query: { order_by: 'update_id', limit: '4' },
      authorized: true,
    });
  });

  describe('memoizing pages', () => {
    async function memoizing(total: number): Promise<ThreatStreamSimulator> {
      const sim = await startSimulator({
        username: USERNAME,
        apiKey: API_KEY,
        total,
        seed: 7,
        memoize: true,
      });
      simulators.push(sim);
      return sim;
    }
    const afterFeed = new Date(modifiedAt(1000)).toISOString();
    const cold = { type: 'ip', limit: '50', status: 'active', modified_ts__lt: afterFeed };

    test('answers byte for byte as a simulator that renders every page', async () => {
      const [plain, memo] = [await simulator(600), await memoizing(600)];
      const queries = [cold, { ...cold, update_id__gt: String(updateIdAt(200)) }, { limit: '7' }];

      for (const params of [...queries, ...queries]) {
        const expected = await text(plain, params);
        expect(await text(memo, params)).toBe(expected);
        expect((JSON.parse(expected) as Answer['body']).objects.length).toBeGreaterThan(0);
      }
    });

    test('renders a page once, whatever upper bound after the feed each run sends', async () => {
      const sim = await memoizing(600);
      const later = { ...cold, modified_ts__lt: new Date(modifiedAt(5000)).toISOString() };

      const first = await get(sim, cold);
      const generated = sim.recordsGenerated;
      const again = await get(sim, later);

      expect(sim.recordsGenerated).toBe(generated);
      expect(again.body.objects).toEqual(first.body.objects);
      // The next link still echoes the request's own query.
      expect(again.body.meta.next).toContain(encodeURIComponent(later.modified_ts__lt));
      const inside = { ...cold, modified_ts__lt: new Date(modifiedAt(100)).toISOString() };
      const cut = await get(sim, inside);
      expect(sim.recordsGenerated).toBeGreaterThan(generated);
      expect(cut.body.objects.length).toBeLessThan(first.body.objects.length);
    });

    test('forgets what it rendered when the feed changes', async () => {
      const sim = await memoizing(200);
      const all = { type: 'ip', limit: '1000', modified_ts__lt: afterFeed };
      const before = await get(sim, all);
      const victim = before.body.objects[3]!;

      const updated = sim.mutate(victim.id - recordAt(0).id, { status: 'inactive' });
      const afterMutation = await get(sim, all);
      sim.setTotal(300);
      const afterGrowth = await get(sim, {
        ...all,
        modified_ts__lt: new Date(modifiedAt(5000)).toISOString(),
      });

      expect(afterMutation.body.objects.at(-1)).toEqual(updated);
      expect(afterGrowth.body.objects.length).toBeGreaterThan(afterMutation.body.objects.length);
    });
  });
});
