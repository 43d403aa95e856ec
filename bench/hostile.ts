/**
 * Hostile upstreams, measured once:
 *   - conversion of one record with 40,000 tags against one with 10,000, in the same process;
 *   - the built daemon's peak RSS against the largest ThreatStream page it accepts, and against
 *     an OpenCTI whose every work call answers with a gzip bomb inflating to 1 GiB;
 *   - a record with a 3 MB description in a batch of 500: what is delivered, counted, stored.
 *
 *   npm run bench:hostile     (RabbitMQ on 127.0.0.1:5672 with guest/guest, as for the tests)
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { authorIdentity } from '../src/stix/author';
import { convertRecord, type ConvertOptions } from '../src/stix/convert';
import { parseRecords } from '../src/threatstream/schema';
import type { OpenCtiStub } from '../stand-ins/opencti/stub';
import { declarePushQueue, deleteQueue, drainRaw } from '../stand-ins/rabbitmq/broker';
import { startSimulator, type FaultHook } from '../stand-ins/threatstream/simulator';
import { IMAGE_NODE_OPTIONS, runDaemon, type DaemonRun } from './daemon-process';
import { API_KEY, TOKEN, USERNAME, startOpenCti } from './environment';
import { decimal, formatTable, megabytes, type Row } from './report';

const MiB = 1024 * 1024;
/** ANOMALI_MAX_RESPONSE_MB's default: the largest page the daemon accepts as configured. */
const PAGE_CAP_BYTES = 16 * MiB;
const FIRST_UPDATE_ID = 1_000_001;
/** Alternated rounds of each conversion, after as many warm-up rounds. */
const CONVERSION_ROUNDS = 100;

const CONVERT: ConvertOptions = {
  author: authorIdentity('Anomali ThreatStream'),
  defaultTlp: 'amber',
  createObservables: true,
  uiUrl: 'https://ui.threatstream.com',
};

/** A well-formed active IP record, `n`-th of its page. */
function ipRecord(n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const updateId = FIRST_UPDATE_ID + n;
  return {
    id: 700_000 + n,
    update_id: updateId,
    value: `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`,
    type: 'ip',
    itype: 'c2_ip',
    threat_type: 'c2',
    status: 'active',
    confidence: 80,
    tags: [{ id: 'a1', name: 'botnet' }],
    created_ts: '2026-02-01T10:00:00.000Z',
    modified_ts: '2026-02-02T10:00:00.000Z',
    ...overrides,
  };
}

const pageOf = (records: readonly unknown[]) =>
  JSON.stringify({
    meta: { next: null, limit: 1000, total_count: records.length },
    objects: records,
  });

type Stage = 'parse' | 'schema' | 'convert';
type StageTimes = Record<Stage, number>;

/** One record from the page's JSON text to the STIX indicator, as the daemon goes, by stage. */
function convertOnce(body: string): StageTimes {
  const t0 = performance.now();
  const objects = (JSON.parse(body) as { objects: unknown[] }).objects;
  const t1 = performance.now();
  const { records } = parseRecords(objects);
  const t2 = performance.now();
  const result = convertRecord(records[0]!, CONVERT);
  const t3 = performance.now();
  if (!result.ok) throw new Error(`the record did not convert: ${result.detail}`);
  return { parse: t1 - t0, schema: t2 - t1, convert: t3 - t2 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/**
 * Median time of each stage for one record with 10,000 tags and one with 40,000, alternated
 * so that both see the same machine.
 */
function conversionCost(): { small: StageTimes; large: StageTimes } {
  const tagged = (count: number) =>
    pageOf([
      ipRecord(0, { tags: Array.from({ length: count }, (_, i) => ({ name: `tag-${i}` })) }),
    ]);
  const bodies = { small: tagged(10_000), large: tagged(40_000) };
  const rounds = { small: [] as StageTimes[], large: [] as StageTimes[] };
  for (let round = 0; round < 2 * CONVERSION_ROUNDS; round++) {
    for (const size of ['small', 'large'] as const) {
      const times = convertOnce(bodies[size]);
      if (round >= CONVERSION_ROUNDS) rounds[size].push(times); // the first half warms up
    }
  }
  const medians = (all: StageTimes[]): StageTimes => ({
    parse: median(all.map((t) => t.parse)),
    schema: median(all.map((t) => t.schema)),
    convert: median(all.map((t) => t.convert)),
  });
  return { small: medians(rounds.small), large: medians(rounds.large) };
}

const CONVERSION_ONLY = '--conversion-only';

/** The conversion measured in a process of its own with the image's NODE_OPTIONS (heap sizing). */
async function conversionAsDeployed(): Promise<ReturnType<typeof conversionCost>> {
  const { stdout } = await promisify(execFile)(process.execPath, [__filename, CONVERSION_ONLY], {
    env: { ...process.env, NODE_OPTIONS: IMAGE_NODE_OPTIONS },
  });
  return JSON.parse(stdout) as ReturnType<typeof conversionCost>;
}

/** Each stage's time for 10,000 and 40,000 tags; the connector's own stages against the goal. */
function conversionRows({ small, large }: ReturnType<typeof conversionCost>): Row[] {
  const stage = (measure: string, a: number, b: number): Row => ({
    measure,
    result: `${decimal(a)} -> ${decimal(b)} ms (x${decimal(b / a)})`,
    goal: '',
  });
  const own = (t: StageTimes) => t.schema + t.convert;
  const ratio = own(large) / own(small);
  return [
    stage('JSON.parse of the page, 10,000 -> 40,000 tags', small.parse, large.parse),
    stage('Record schema, 10,000 -> 40,000 tags', small.schema, large.schema),
    stage('Record to STIX, 10,000 -> 40,000 tags', small.convert, large.convert),
    {
      measure: 'Conversion (schema + STIX), 40,000 / 10,000 tags',
      result: `x${decimal(ratio)}`,
      goal: '<= 5',
      met: ratio <= 5,
    },
  ];
}

/** 1000 records (the largest page size) whose descriptions fill the page to just below the cap. */
function largestAcceptedPage(): string {
  const bare = pageOf(Array.from({ length: 1000 }, (_, n) => ipRecord(n, { description: '' })));
  const room = PAGE_CAP_BYTES - bare.length - 1024;
  const description = 'd'.repeat(Math.floor(room / 1000));
  return pageOf(Array.from({ length: 1000 }, (_, n) => ipRecord(n, { description })));
}

/** A 3 MB description in the middle of 500 records. */
function pageWithHugeDescription(): string {
  return pageOf(
    Array.from({ length: 500 }, (_, n) =>
      ipRecord(n, n === 250 ? { description: 'd'.repeat(3_000_000) } : {}),
    ),
  );
}

/** About 1 MB on the wire, 1 GiB inflated: gzip members of 1 MiB of zeros back to back. */
function gzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(MiB));
  return Buffer.concat(Array.from({ length: 1024 }, () => member));
}

interface HostileRun {
  run: DaemonRun;
  /** Indicator ids found in the push queue, one entry per message. */
  indicators: string[];
  storedState: string | null | undefined;
}

/**
 * One run of the built daemon for the IP type against a ThreatStream answering the cold start
 * with `body`; `prepare` may make the OpenCTI stand-in hostile first.
 */
async function runAgainst(body: string, prepare?: (opencti: OpenCtiStub) => void) {
  const fault: FaultHook = (request) =>
    request.query.type === 'ip' && request.query.update_id__gt === undefined
      ? { status: 200, headers: { 'content-type': 'application/json' }, body }
      : undefined;
  const simulator = await startSimulator({
    username: USERNAME,
    apiKey: API_KEY,
    total: 0,
    startTime: new Date(),
    fault,
  });
  const opencti = await startOpenCti();
  const push = await declarePushQueue(randomUUID());
  prepare?.(opencti);
  try {
    const run = await runDaemon({
      OPENCTI_URL: opencti.url,
      OPENCTI_TOKEN: TOKEN,
      CONNECTOR_ID: push.connectorId,
      CONNECTOR_LOG_LEVEL: 'info',
      CONNECTOR_RUN_AND_TERMINATE: 'true',
      CONNECTOR_CONFIG_FILE: '/dev/null',
      ANOMALI_URL: simulator.url,
      ANOMALI_USERNAME: USERNAME,
      ANOMALI_API_KEY: API_KEY,
      ANOMALI_TYPES: 'ip',
      ANOMALI_THREAT_MODEL_TYPES: '',
    });
    const indicators = await indicatorsIn(push.queue);
    return { run, indicators, storedState: opencti.state } satisfies HostileRun;
  } finally {
    await Promise.all([simulator.close(), opencti.close(), deleteQueue(push.queue)]);
  }
}

/** Empties the queue; the id of each indicator message, duplicates kept. */
async function indicatorsIn(queue: string): Promise<string[]> {
  const ids: string[] = [];
  for (const message of await drainRaw(queue)) {
    const { content } = JSON.parse(message.content.toString()) as { content: string };
    const bundle = JSON.parse(Buffer.from(content, 'base64').toString()) as {
      objects: { type: string; id: string }[];
    };
    const object = bundle.objects[0]!;
    if (object.type === 'indicator') ids.push(object.id);
  }
  return ids;
}

/** The bench's own check: a figure from a run that did not go as expected is no figure. */
function expectClean({ run }: HostileRun, what: string): void {
  if (run.exitCode !== 0 || run.summary?.outcome !== 'completed') {
    throw new Error(`${what}: exit ${run.exitCode}\n${run.problems.slice(-10).join('\n')}`);
  }
}

async function main(): Promise<void> {
  const conversion = await conversionAsDeployed();
  const largest = largestAcceptedPage();
  const page = await runAgainst(largest);
  expectClean(page, 'largest accepted page');
  const bomb = gzipBomb();
  const bombed = await runAgainst(pageOf([ipRecord(0)]), (opencti) => {
    const answer = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    for (const operation of ['WorkAdd', 'WorkAddExpectations', 'WorkToProcessed']) {
      opencti.failNext(
        operation,
        { kind: 'http', status: 200, headers: answer, body: bomb },
        Infinity,
      );
    }
  });
  expectClean(bombed, 'OpenCTI gzip bomb');
  if (!bombed.run.problems.some((line) => line.includes('answer refused: larger than'))) {
    throw new Error(`the daemon did not meet the gzip bomb:\n${bombed.run.problems.join('\n')}`);
  }
  const huge = await runAgainst(pageWithHugeDescription());
  expectClean(huge, '3 MB description');
  const summary = huge.run.summary as unknown as Record<string, number>;
  const cursor = (JSON.parse(huge.storedState ?? '{}') as { cursors?: { ip?: string } }).cursors
    ?.ip;

  const rss = (run: HostileRun) => ({
    result: megabytes(run.run.peakRssBytes),
    goal: '< 300 MB',
    met: run.run.peakRssBytes < 300 * MiB,
  });
  const rows: Row[] = [
    ...conversionRows(conversion),
    {
      measure: `Peak RSS, a ${decimal(largest.length / MiB)} MiB page of 1000 records (cap 16 MiB)`,
      ...rss(page),
    },
    { measure: 'Peak RSS, every work call a 1 GiB gzip bomb', ...rss(bombed) },
    {
      measure: '3 MB description in 500: indicator messages (distinct)',
      result: `${huge.indicators.length} (${new Set(huge.indicators).size})`,
      goal: '500 (500)',
      met: huge.indicators.length === 500 && new Set(huge.indicators).size === 500,
    },
    {
      measure: '3 MB description in 500: imported, truncated, skipped',
      result: `${summary.imported}, ${summary.truncated}, ${summary.skipped}`,
      goal: '500, 1, 0',
      met: summary.imported === 500 && summary.truncated === 1 && summary.skipped === 0,
    },
    {
      measure: '3 MB description in 500: cursor stored',
      result: String(cursor),
      goal: String(FIRST_UPDATE_ID + 499),
      met: cursor === String(FIRST_UPDATE_ID + 499),
    },
  ];
  console.log(formatTable(rows));
}

const measuring = process.argv.includes(CONVERSION_ONLY)
  ? Promise.resolve(console.log(JSON.stringify(conversionCost())))
  : main();
measuring.catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
