import { describe, expect, it } from '@jest/globals';
import { RevocationFilter } from '../../src/connector/revocations';
import { runOnce, RunError, type RunDependencies, type RunSettings } from '../../src/connector/run';
import type { ConnectorState, StateStore } from '../../src/opencti/state';
import type { BundleSink } from '../../src/sinks/sink';
import { authorIdentity } from '../../src/stix/author';
import type { Bundle } from '../../src/stix/types';
import {
  ThreatStreamRequestError,
  type FeedItem,
  type Page,
  type PageQuery,
} from '../../src/threatstream/client';
import { type IocType } from '../../src/ioc-types';
import { parseRecords } from '../../src/threatstream/schema';
import { captureLogs } from '../support/capture';
import { waitUntil } from '../support/wait';

const NOW = new Date('2026-03-01T12:00:00.000Z');

function record(updateId: number, overrides: Record<string, unknown> = {}) {
  return {
    id: 1000 + updateId,
    update_id: updateId,
    value: `host${updateId}.example`,
    type: 'domain',
    status: 'active',
    created_ts: '2026-02-01T00:00:00.000Z',
    modified_ts: '2026-02-02T00:00:00.000Z',
    ...overrides,
  };
}

function page(raws: Record<string, unknown>[], hasMore = false): Page {
  const { records, rejected } = parseRecords(raws);
  const ids = raws.map((r) => BigInt(r.update_id as number));
  const cursor = ids.reduce((a, b) => (b > a ? b : a), 0n).toString();
  return { records, rejected, cursor, hasMore };
}

/**
 * A ThreatStream client that serves prepared pages per type, type after type, and records the
 * queries; a type listed in `failures` yields its failure instead.
 */
function fakeClient(
  pagesByType: Partial<Record<IocType, Page[]>>,
  failures: Partial<Record<IocType, ThreatStreamRequestError>> = {},
  onQuery: (query: PageQuery) => void = () => undefined,
) {
  const queries: PageQuery[] = [];
  return {
    queries,
    pages: async function* (all: readonly PageQuery[]): AsyncGenerator<FeedItem> {
      for (const query of all) {
        queries.push(query);
        onQuery(query);
        await Promise.resolve();
        const failure = failures[query.type];
        if (failure) yield { type: query.type, failure };
        else for (const p of pagesByType[query.type] ?? []) yield { type: query.type, page: p };
      }
    },
  };
}

function memoryState(initial: ConnectorState = { cursors: {} }) {
  let state = initial;
  let generation = 0;
  const saves: ConnectorState[] = [];
  const store: StateStore & { saves: ConnectorState[]; reset(): void } = {
    saves,
    load: () => ({ state: { cursors: { ...state.cursors } }, generation }),
    save: (next, gen) => {
      if (gen !== generation) return Promise.resolve(false);
      state = { cursors: { ...next.cursors } };
      saves.push(state);
      return Promise.resolve(true);
    },
    reset: () => {
      state = { cursors: {} };
      generation++;
    },
  };
  return store;
}

/** A sink whose deliveries run `onDeliver` (one message per object, as over AMQP). */
function sinkDelivering(onDeliver: (bundle: Bundle) => Promise<void> | void): BundleSink {
  return {
    prepare: (bundle) =>
      Promise.resolve({
        messages: bundle.objects.length,
        deliver: async () => onDeliver(bundle),
      }),
    close: () => Promise.resolve(),
  };
}

function recordingSink(failOn?: (n: number) => boolean) {
  const bundles: Bundle[] = [];
  let calls = 0;
  const sink = sinkDelivering((bundle) => {
    calls++;
    if (failOn?.(calls)) throw new Error('broker gone');
    bundles.push(bundle);
  });
  return Object.assign(sink, { bundles });
}

/** A sink whose deliveries wait until the test accepts or fails them, recording what happens when. */
function heldSink(events: string[]) {
  const held: { accept: () => void; fail: (error: Error) => void }[] = [];
  let prepared = 0;
  const sink: BundleSink = {
    prepare: (bundle) => {
      const n = ++prepared;
      events.push(`prepare ${n}`);
      return Promise.resolve({
        messages: bundle.objects.length,
        deliver: () => {
          events.push(`deliver ${n}`);
          return new Promise<void>((resolve, reject) =>
            held.push({
              accept: () => {
                events.push(`accepted ${n}`);
                resolve();
              },
              fail: reject,
            }),
          );
        },
      });
    },
    close: () => Promise.resolve(),
  };
  /** Settles the delivery in flight once it has started. */
  const next = async () => {
    await waitUntil(() => held.length > 0);
    return held.shift()!;
  };
  return { sink, next };
}

/** Records each save as an event beside the sink's. */
function recordSaves(state: ReturnType<typeof memoryState>, events: string[]) {
  const save = state.save.bind(state);
  state.save = (next, gen) => {
    events.push(`save ${next.cursors.domain}`);
    return save(next, gen);
  };
  return state;
}

const settings = (types: IocType[] = ['domain']): RunSettings => ({
  connectorName: 'Anomali ThreatStream',
  types,
  importStart: { kind: 'ago', ms: 30 * 86_400_000 },
  stabilityDelayMs: 60_000,
  minConfidence: 70,
  feedIds: ['5'],
  trustedCircleIds: [],
  convert: {
    author: authorIdentity('Anomali ThreatStream'),
    defaultTlp: 'amber',
    createObservables: true,
    uiUrl: 'https://ui.threatstream.com',
  },
});

function works() {
  const calls: string[] = [];
  return {
    calls,
    start: (name: string) => {
      calls.push(`start ${name}`);
      return Promise.resolve('work_1');
    },
    finish: (id: string | null, message: string, inError: boolean) => {
      calls.push(`finish ${id} ${inError} ${message}`);
      return Promise.resolve();
    },
  };
}

const signals = () => ({ stop: new AbortController(), abort: new AbortController() });

function deps(overrides: Partial<RunDependencies>): RunDependencies {
  return {
    client: fakeClient({}),
    sink: recordingSink(),
    state: memoryState(),
    works: works(),
    queueGate: null,
    revocations: new RevocationFilter(null, captureLogs().logger),
    logger: captureLogs().logger,
    now: () => NOW,
    ...overrides,
  };
}

const run = (d: RunDependencies, s = settings(), sig = signals()) =>
  runOnce(d, s, { stop: sig.stop.signal, abort: sig.abort.signal });

describe('runOnce', () => {
  it('sends every page in bundles of 500 and advances the cursor after each page', async () => {
    const first = page(
      Array.from({ length: 1000 }, (_, i) => record(i + 1)),
      true,
    );
    const second = page([record(1001), record(1002)]);
    const client = fakeClient({ domain: [first, second] });
    const sink = recordingSink();
    const state = memoryState();
    const summary = await run(deps({ client, sink, state }));

    expect(sink.bundles.map((b) => b.objects.filter((o) => o.type === 'indicator').length)).toEqual(
      [500, 500, 2],
    );
    for (const bundle of sink.bundles) {
      expect(bundle.objects[0]).toMatchObject({ type: 'identity', name: 'Anomali ThreatStream' });
      expect(bundle.objects[1]).toMatchObject({ type: 'marking-definition' });
    }
    expect(state.saves).toEqual([{ cursors: { domain: '1000' } }, { cursors: { domain: '1002' } }]);
    expect(summary.outcome).toBe('completed');
    expect(summary.totals()).toMatchObject({ fetched: 1002, imported: 1002, skipped: 0, pages: 2 });
  });

  it('asks for a cold start only for types without a cursor, with the filters and bounds', async () => {
    const client = fakeClient({});
    await run(
      deps({ client, state: memoryState({ cursors: { ip: '77' } }) }),
      settings(['ip', 'url']),
    );
    expect(client.queries).toEqual([
      {
        type: 'ip',
        cursor: '77',
        coldStartFrom: new Date('2026-01-30T12:00:00.000Z'),
        until: new Date('2026-03-01T11:59:00.000Z'),
        minConfidence: 70,
        feedIds: ['5'],
        trustedCircleIds: [],
      },
      expect.objectContaining({ type: 'url', cursor: null }),
    ]);
  });

  it('keeps each type on its own cursor', async () => {
    const client = fakeClient({
      ip: [page([record(10, { type: 'ip', value: '10.0.0.1' })])],
      url: [page([record(99, { type: 'url', value: 'http://x.example/a' })])],
    });
    const state = memoryState({ cursors: { domain: '5' } });
    await run(deps({ client, state }), settings(['ip', 'domain', 'url']));
    expect(state.load().state).toEqual({ cursors: { ip: '10', domain: '5', url: '99' } });
  });

  it('does not advance the cursor when a batch of the page was not delivered', async () => {
    const client = fakeClient({
      domain: [page(Array.from({ length: 700 }, (_, i) => record(i + 1)))],
    });
    const sink = recordingSink((n) => n === 2);
    const state = memoryState({ cursors: { domain: '0' } });
    const w = works();
    const error = await run(deps({ client, sink, state, works: w })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunError);
    expect((error as RunError).cause).toEqual(new Error('broker gone'));
    expect(state.saves).toEqual([]);
    expect(w.calls.at(-1)).toMatch(/^finish work_1 true Run failed: broker gone\./);
  });

  it('goes on with the other types when ThreatStream fails for one, then reports the run failed', async () => {
    const client = fakeClient(
      { url: [page([record(50, { type: 'url', value: 'http://x.example/' })])] },
      { ip: new ThreatStreamRequestError('ThreatStream answered HTTP 400', { status: 400 }) },
    );
    const state = memoryState({ cursors: { ip: '7' } });
    const w = works();
    const error = await run(deps({ client, state, works: w }), settings(['ip', 'url'])).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RunError);
    expect((error as Error).message).toBe('Run failed: ip: ThreatStream answered HTTP 400');
    expect(state.load().state).toEqual({ cursors: { ip: '7', url: '50' } });
    expect(w.calls.at(-1)).toMatch(
      /^finish work_1 true Run failed: ip: ThreatStream answered HTTP 400\. Fetched 1/,
    );
  });

  it('counts and logs skipped records with their ThreatStream id, and imports the rest', async () => {
    const logs = captureLogs();
    const client = fakeClient({
      domain: [
        page([
          record(1),
          record(2, { value: 'has space.example' }),
          { id: 77, update_id: 3 },
          record(4, { status: 'pending' }),
        ]),
      ],
    });
    const sink = recordingSink();
    const summary = await run(deps({ client, sink, logger: logs.logger }));
    expect(summary.totals()).toMatchObject({ fetched: 4, imported: 1, skipped: 3 });
    expect(summary.skippedByReason).toEqual({
      invalid_value: 1,
      malformed_record: 1,
      unsupported_status: 1,
    });
    const skipped = logs.entries().filter((e) => e.message === 'ThreatStream record skipped');
    expect(skipped.map((e) => [e.threatstream_id, e.reason])).toEqual([
      ['77', 'malformed_record'],
      ['1002', 'invalid_value'],
      ['1004', 'unsupported_status'],
    ]);
    // The cursor still moves past them: a skipped record is never fetched again.
    expect(summary.cursors).toEqual({ domain: '4' });
  });

  it('logs an unsupported type at debug only, and counts it at every level', async () => {
    const pages = () => fakeClient({ domain: [page([record(1), record(2, { type: 'phone' })])] });
    const debug = captureLogs({ level: 'debug' });
    const info = captureLogs({ level: 'info' });
    const atDebug = await run(deps({ client: pages(), logger: debug.logger }));
    const atInfo = await run(deps({ client: pages(), logger: info.logger }));

    const skips = (logs: typeof debug) =>
      logs.entries().filter((e) => e.message === 'ThreatStream record skipped');
    expect(skips(debug).map((e) => [e.level, e.reason, e.threatstream_id])).toEqual([
      ['debug', 'unsupported_type', '1002'],
    ]);
    expect(skips(info)).toEqual([]);
    for (const summary of [atDebug, atInfo]) {
      expect(summary.skippedByReason).toEqual({ unsupported_type: 1 });
    }
  });

  it('reports the run to the OpenCTI work with its summary', async () => {
    const client = fakeClient({ domain: [page([record(1), record(2, { status: 'falsepos' })])] });
    const w = works();
    await run(deps({ client, works: w }));
    expect(w.calls).toEqual([
      'start Anomali ThreatStream run @ 2026-03-01T12:00:00.000Z',
      // The deactivation waits for the end of the pages, and goes in a bundle of its own.
      'finish work_1 false Fetched 2 ThreatStream IOCs; imported 2 indicators (1 revoked); skipped 0; 2 bundles, 6 messages.',
    ]);
  });

  it('waits for room in the queue before the run and before every batch', async () => {
    const events: string[] = [];
    const client = fakeClient(
      { domain: [page(Array.from({ length: 600 }, (_, i) => record(i + 1)))] },
      {},
      () => events.push('fetch'),
    );
    const sink = sinkDelivering(() => {
      events.push('send');
    });
    const queueGate = {
      waitForRoom: () => {
        events.push('gate');
        return Promise.resolve();
      },
    };
    await run(deps({ client, sink, queueGate }));
    expect(events).toEqual(['gate', 'fetch', 'gate', 'send', 'gate', 'send']);
  });

  it('stops between batches on a stop signal, keeps the cursor of the last whole page', async () => {
    const sig = signals();
    const client = fakeClient({
      domain: [page([record(1)]), page(Array.from({ length: 900 }, (_, i) => record(i + 2)))],
    });
    const state = memoryState();
    const sink = sinkDelivering((b) => {
      if (b.objects.length > 100) sig.stop.abort(new Error('SIGTERM'));
    });
    const w = works();
    const summary = await run(deps({ client, state, sink, works: w }), settings(), sig);
    expect(summary.outcome).toBe('stopped');
    expect(state.load().state).toEqual({ cursors: { domain: '1' } });
    expect(w.calls.at(-1)).toMatch(/^finish work_1 false .*\(stopped\)\.$/);
  });

  it('ends the run without saving when the state is reset while it runs', async () => {
    const state = memoryState({ cursors: { domain: '0' } });
    const client = fakeClient({ domain: [page([record(1)], true), page([record(2)])] });
    const sink = sinkDelivering(() => state.reset());
    const summary = await run(deps({ client, state, sink }));
    expect(summary.outcome).toBe('reset');
    expect(state.load().state).toEqual({ cursors: {} });
    expect(state.saves).toEqual([]);
  });

  it('ends quietly when stopped while waiting for the queue to drain', async () => {
    const sig = signals();
    const client = fakeClient({ domain: [page([record(1)])] });
    const queueGate = {
      waitForRoom: (signal?: AbortSignal) =>
        new Promise<void>((_, reject) => {
          signal?.addEventListener('abort', () => reject(new Error('aborted')));
          sig.stop.abort();
        }),
    };
    const w = works();
    const summary = await run(deps({ client, queueGate, works: w }), settings(), sig);
    expect(summary.outcome).toBe('stopped');
    expect(client.queries).toEqual([]);
    expect(w.calls).toEqual([]);
  });

  describe('pipelining', () => {
    const twoPages = () =>
      fakeClient({
        domain: [
          page(
            Array.from({ length: 600 }, (_, i) => record(i + 1)),
            true,
          ),
          page(Array.from({ length: 50 }, (_, i) => record(i + 601))),
        ],
      });
    const before = (events: string[], a: string, b: string) => {
      expect(events).toContain(a);
      expect(events).toContain(b);
      expect(events.indexOf(a)).toBeLessThan(events.indexOf(b));
    };

    it('prepares the next batch while one is confirmed, never has two in flight, and saves a cursor only once its page is accepted', async () => {
      const events: string[] = [];
      const { sink, next } = heldSink(events);
      const state = recordSaves(memoryState(), events);
      const running = run(deps({ client: twoPages(), sink, state }));

      const first = await next();
      await waitUntil(() => events.includes('prepare 2'));
      expect(events).toEqual(['prepare 1', 'deliver 1', 'prepare 2']);
      first.accept();
      const second = await next();
      // Page 2 is converted and prepared while page 1's last batch waits for its confirms.
      await waitUntil(() => events.includes('prepare 3'));
      expect(events).toEqual([
        'prepare 1',
        'deliver 1',
        'prepare 2',
        'accepted 1',
        'deliver 2',
        'prepare 3',
      ]);
      second.accept();
      (await next()).accept();
      const summary = await running;

      expect(summary.outcome).toBe('completed');
      before(events, 'accepted 2', 'save 600');
      before(events, 'accepted 2', 'deliver 3');
      before(events, 'accepted 3', 'save 650');
      expect(events.filter((e) => e.startsWith('save'))).toEqual(['save 600', 'save 650']);
      expect(state.load().state).toEqual({ cursors: { domain: '650' } });
    });

    it('saves no cursor at or after a batch that failed, even with later pages prepared', async () => {
      const events: string[] = [];
      const { sink, next } = heldSink(events);
      const state = recordSaves(memoryState({ cursors: { domain: '0' } }), events);
      const w = works();
      const running = run(deps({ client: twoPages(), sink, state, works: w })).catch(
        (e: unknown) => e,
      );

      (await next()).accept();
      const second = await next();
      await waitUntil(() => events.includes('prepare 3'));
      second.fail(new Error('broker gone'));
      const error = await running;

      expect(error).toBeInstanceOf(RunError);
      expect((error as RunError).cause).toEqual(new Error('broker gone'));
      expect(events).not.toContain('deliver 3');
      expect(state.saves).toEqual([]);
      expect(w.calls.at(-1)).toMatch(/^finish work_1 true Run failed: broker gone\./);
    });

    it('on a stop, still delivers the batch already prepared (its expectations are counted) and saves its page', async () => {
      const events: string[] = [];
      const sig = signals();
      const { sink, next } = heldSink(events);
      const state = recordSaves(memoryState(), events);
      const running = run(deps({ client: twoPages(), sink, state }), settings(), sig);

      const first = await next();
      await waitUntil(() => events.includes('prepare 2'));
      sig.stop.abort(new Error('SIGTERM'));
      first.accept();
      (await next()).accept();
      const summary = await running;

      expect(summary.outcome).toBe('stopped');
      expect(events).toEqual([
        'prepare 1',
        'deliver 1',
        'prepare 2',
        'accepted 1',
        'deliver 2',
        'accepted 2',
        'save 600',
      ]);
      expect(state.load().state).toEqual({ cursors: { domain: '600' } });
    });

    it('stops reading pages as soon as the run fails, abandoning the request ahead', async () => {
      const events: string[] = [];
      const { sink, next } = heldSink(events);
      let abandoned = false;
      const client = {
        // eslint-disable-next-line @typescript-eslint/require-await -- pages served from memory
        pages: async function* (): AsyncGenerator<FeedItem> {
          try {
            yield {
              type: 'domain',
              page: page(
                Array.from({ length: 600 }, (_, i) => record(i + 1)),
                true,
              ),
            };
            events.push('read page 2');
            yield { type: 'domain', page: page([record(601)]) };
          } finally {
            abandoned = true;
          }
        },
      };
      const running = run(deps({ client, sink })).catch((e: unknown) => e);

      const first = await next();
      await waitUntil(() => events.includes('prepare 2'));
      first.fail(new Error('broker gone'));

      expect(await running).toBeInstanceOf(RunError);
      expect(abandoned).toBe(true);
      expect(events).toEqual(['prepare 1', 'deliver 1', 'prepare 2']);
    });
  });
});
