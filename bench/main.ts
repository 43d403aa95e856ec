/**
 * `npm run bench`: the connector's throughput, memory and API efficiency against the ThreatStream
 * simulator and the real RabbitMQ, beside a bare amqplib publisher sending the same messages.
 * The daemon runs as its own process (`node dist/main.js`, run-and-terminate) so its memory is
 * its own; the OpenCTI stand-in lives in this process and the simulator on a thread of it.
 *
 * Sizes, as flags or environment variables:
 *   --records / BENCH_RECORDS                 cold import measured for throughput (100000)
 *   --large-records / BENCH_LARGE_RECORDS     second cold import, for memory (500000)
 *   --latency-records / BENCH_LATENCY_RECORDS every type, 300 ms a page (30000: about 30 pages)
 *   --latency-one-type-records / BENCH_LATENCY_ONE_TYPE_RECORDS  type ip only (133000: 30 pages)
 *   --bulletin-iocs / BENCH_BULLETIN_IOCS     IOCs linked to the one bulletin (50000)
 *   --cpu-prof / BENCH_CPU_PROF=1             one more import under --cpu-prof, self time printed
 *
 * Every import runs with the threat-model import on (the default types) against a simulator
 * whose model searches find nothing, except the bulletin's, which imports bulletins only.
 */

import { readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { runSettings } from '../src/connector/settings';
import { declarePushQueue, deleteQueue } from '../stand-ins/rabbitmq/broker';
import type { BareFetch } from './bare-fetch';
import { brokerVersion, publishBare, type BarePublish } from './bare-publisher';
import { bulletinRows } from './bulletin';
import { formatSelfTime, summariseSelfTime } from './cpu-profile';
import { IMAGE_NODE_OPTIONS } from './daemon-process';
import { CONNECTOR_USER, PAGE_SIZE, fetchFirstRun, startEnvironment } from './environment';
import { START_UP_CHECK, importFresh, importOnce, perSecond, type Import } from './import-run';
import { decimal, formatTable, integer, megabytes, progress, seconds, type Row } from './report';
import { revocationRows } from './revocations';
import { coldStartBatches } from './worker-bodies';

const REPOSITORY = path.resolve(__dirname, '..', '..');
const PROFILE_DIR = path.join(REPOSITORY, 'dist-tools', 'profiles');
const LATENCY_MS = 300;
/** Throughput is the best of this many alternated runs: other work on a small machine only slows a run down. */
const ROUNDS = 2;
const GOALS = {
  iocsPerSecond: 10_000,
  ratioToBare: 0.7,
  latencyEfficiency: 0.95,
  peakRssBytes: 200 * 1024 * 1024,
  rssGrowth: 0.2,
};

interface Options {
  records: number;
  largeRecords: number;
  latencyRecords: number;
  latencyOneTypeRecords: number;
  bulletinIocs: number;
  cpuProfile: boolean;
}

function count(flag: string | undefined, env: string, fallback: number): number {
  const text = flag ?? process.env[env];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${env}: ${text} is not a positive integer`);
  return n;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      records: { type: 'string' },
      'large-records': { type: 'string' },
      'latency-records': { type: 'string' },
      'latency-one-type-records': { type: 'string' },
      'bulletin-iocs': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
    },
  });
  return {
    records: count(values.records, 'BENCH_RECORDS', 100_000),
    largeRecords: count(values['large-records'], 'BENCH_LARGE_RECORDS', 500_000),
    latencyRecords: count(values['latency-records'], 'BENCH_LATENCY_RECORDS', 30_000),
    latencyOneTypeRecords: count(
      values['latency-one-type-records'],
      'BENCH_LATENCY_ONE_TYPE_RECORDS',
      133_000,
    ),
    bulletinIocs: count(values['bulletin-iocs'], 'BENCH_BULLETIN_IOCS', 50_000),
    cpuProfile: values['cpu-prof'] === true || /^(1|true)$/i.test(process.env.BENCH_CPU_PROF ?? ''),
  };
}

/** What the daemon's configuration makes of a run: IOC types, and threat-model searches (vulnerabilities search alone). */
interface RunShape {
  types: number;
  modelSearches: number;
}

function runShape(daemonEnv: Record<string, string>): RunShape {
  const settings = runSettings(loadConfig(daemonEnv));
  const models = settings.threatModels?.types ?? [];
  const searches = [
    models.some((type) => type !== 'vulnerability'),
    models.includes('vulnerability'),
  ];
  return { types: settings.types.length, modelSearches: searches.filter(Boolean).length };
}

interface LatencyBound {
  connector: Import;
  bare: BareFetch;
}

/** A cold import with LATENCY_MS a page, then a bare client reading the same pages. */
async function latencyBound(total: number, types?: string): Promise<LatencyBound> {
  const env = await startEnvironment({
    total,
    latencyMs: LATENCY_MS,
    ...(types !== undefined && { types }),
  });
  try {
    const connector = await importOnce(env);
    const bare = await fetchFirstRun(env);
    return { connector, bare };
  } finally {
    await env.close();
  }
}

/** The bare publisher, on a fresh queue declared like the connector's, deleted afterwards. */
async function bareRun(batches: readonly (readonly Buffer[])[]): Promise<BarePublish> {
  const push = await declarePushQueue();
  try {
    return await publishBare(push.routingKey, batches);
  } finally {
    await deleteQueue(push.queue);
  }
}

const fastest = <T>(runs: readonly T[], rate: (run: T) => number): T =>
  runs.reduce((best, run) => (rate(run) > rate(best) ? run : best));

interface Throughput {
  /** Cold imports of the same feed, one per round. */
  colds: Import[];
  /** The first round's environment run again, with nothing new. */
  unchanged: Import;
  bares: BarePublish[];
  /** Messages a cold import of the feed publishes, as built by the connector's code. */
  messages: number;
  shape: RunShape;
}

/** The first round: a cold import, a second run with nothing new, and the bodies the bare publisher sends. */
async function firstRound(total: number) {
  progress(`cold import of ${integer(total)} records (round 1)`);
  const env = await startEnvironment({ total, prerender: true });
  const settings = runSettings(loadConfig(env.daemonEnv));
  try {
    const cold = await importOnce(env);
    await deleteQueue(env.push.queue);
    await declarePushQueue(env.connectorId);
    progress('second run, nothing changed');
    const unchanged = await importOnce(env);
    const batches = coldStartBatches({
      total,
      feedStart: env.feedStart,
      settings,
      pageSize: PAGE_SIZE,
      applicantId: CONNECTOR_USER,
      workId: env.opencti.works[0]?.id ?? '',
    });
    return { cold, unchanged, batches, shape: runShape(env.daemonEnv) };
  } finally {
    await env.close();
  }
}

/**
 * Cold imports of `total` records and the bare publisher sending the same bodies, alternated so
 * that a slow spell of the machine hits both; the first round also runs a second import with
 * nothing new. The bodies live only here: half a million of them would weigh on later runs.
 */
async function throughputRounds(total: number): Promise<Throughput> {
  const { cold, unchanged, batches, shape } = await firstRound(total);
  const colds = [cold];
  const messages = batches.reduce((sum, batch) => sum + batch.length, 0);
  const bares: BarePublish[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    if (round > 1) {
      progress(`cold import of ${integer(total)} records (round ${round})`);
      colds.push(await importFresh({ total, prerender: true }));
    }
    progress(`bare publisher: ${integer(messages)} messages (round ${round})`);
    bares.push(await bareRun(batches));
  }
  return { colds, unchanged, bares, messages, shape };
}

const all = (values: readonly number[]) => values.map((v) => integer(v)).join(', ');
const coldRate = (run: Import) => perSecond(run.summary.fetched, run.wallMs);

/** The cold imports against the bare publisher sending the same messages. */
function throughputRows(records: number, t: Throughput): Row[] {
  const cold = fastest(t.colds, coldRate);
  const bare = fastest(t.bares, (run) => perSecond(run.messages, run.wallMs));
  const iocsPerSecond = coldRate(cold);
  const messagesPerSecond = perSecond(cold.summary.messages, cold.wallMs);
  const bareMessagesPerSecond = perSecond(bare.messages, bare.wallMs);
  const ratio = messagesPerSecond / bareMessagesPerSecond;
  return [
    {
      measure: `Connector end to end, ${integer(records)} records`,
      result: `${integer(iocsPerSecond)} IOCs/s (${integer(cold.summary.fetched)} IOCs in ${seconds(cold.wallMs)}; runs: ${all(t.colds.map(coldRate))})`,
      goal: `>= ${integer(GOALS.iocsPerSecond)} IOCs/s`,
      met: iocsPerSecond >= GOALS.iocsPerSecond,
    },
    {
      measure: 'Connector messages',
      result: `${integer(messagesPerSecond)} msg/s (${integer(cold.summary.messages)} published, ${integer(cold.queued)} queued)`,
      goal: 'all queued, same as bare',
      met: t.colds.every((run) => run.queued === run.summary.messages && run.queued === t.messages),
    },
    {
      measure: 'Bare amqplib publisher, same messages',
      result: `${integer(bareMessagesPerSecond)} msg/s (${integer(bare.messages)} messages, ${megabytes(bare.bytes)}; runs: ${all(t.bares.map((run) => perSecond(run.messages, run.wallMs)))})`,
      goal: '',
    },
    {
      measure: 'Connector / bare publisher',
      result: decimal(ratio),
      goal: `>= ${decimal(GOALS.ratioToBare)}`,
      met: ratio >= GOALS.ratioToBare,
    },
  ];
}

/**
 * Against pages × latency, and against a client that only fetches the same pages: from the first
 * page request (the start-up check, a request of its own before registration, is left out, as
 * the bare client makes none) to the final cursors stored, before the threat-model searches.
 */
function latencyRows(
  label: string,
  { connector, bare }: LatencyBound,
  modelSearches: number,
): Row[] {
  const pages = connector.requests - modelSearches - START_UP_CHECK;
  const idealMs = pages * LATENCY_MS;
  const ofIdeal = idealMs / connector.pagesMs;
  const ofBare = bare.wallMs / connector.pagesMs;
  return [
    {
      measure: `Latency-bound, ${LATENCY_MS} ms a page, ${label}`,
      result: `${decimal(ofIdeal)} (${seconds(connector.pagesMs)} for ${pages} pages, ideal ${seconds(idealMs)})`,
      goal: `>= ${decimal(GOALS.latencyEfficiency)}`,
      met: ofIdeal >= GOALS.latencyEfficiency,
    },
    {
      measure: `  same, against a bare client fetching the same pages`,
      result: `${decimal(ofBare)} (bare client ${seconds(bare.wallMs)} for ${bare.pages} pages)`,
      goal: `>= ${decimal(GOALS.latencyEfficiency)}`,
      met: ofBare >= GOALS.latencyEfficiency,
    },
  ];
}

function memoryRows(options: Options, colds: readonly Import[], large: Import): Row[] {
  const peakRss = Math.max(...colds.map((run) => run.run.peakRssBytes));
  const rssGrowth = large.run.peakRssBytes / peakRss - 1;
  return [
    {
      measure: `Peak RSS, ${integer(options.records)} records`,
      result: `${megabytes(peakRss)} (runs: ${colds.map((run) => megabytes(run.run.peakRssBytes)).join(', ')})`,
      goal: `< ${megabytes(GOALS.peakRssBytes)}`,
      met: peakRss < GOALS.peakRssBytes,
    },
    {
      measure: `Peak RSS, ${integer(options.largeRecords)} records`,
      result: `${megabytes(large.run.peakRssBytes)} (${rssGrowth >= 0 ? '+' : ''}${decimal(rssGrowth * 100, 0)} %)`,
      goal: `< ${megabytes(GOALS.peakRssBytes)}, within ${GOALS.rssGrowth * 100} %`,
      met: large.run.peakRssBytes < GOALS.peakRssBytes && Math.abs(rssGrowth) <= GOALS.rssGrowth,
    },
    {
      measure: `Connector end to end, ${integer(options.largeRecords)} records`,
      result: `${integer(coldRate(large))} IOCs/s (${integer(large.summary.fetched)} IOCs in ${seconds(large.wallMs)})`,
      goal: '',
    },
  ];
}

/** Requests of the cold import and of a run with nothing new; the model searches counted explicitly. */
function requestRows({ colds, unchanged, shape }: Throughput): Row[] {
  const first = colds[0]!;
  const perThousand = (first.requests / first.summary.fetched) * 1000;
  const fixed = shape.types + START_UP_CHECK + shape.modelSearches;
  const bound = first.summary.fetched / PAGE_SIZE + fixed;
  const searches = `${shape.modelSearches} threat-model searches`;
  return [
    {
      measure: 'ThreatStream requests per 1,000 IOCs',
      result: `${decimal(perThousand)} (${first.requests} requests, ${shape.types} types)`,
      goal: `<= 1.0 + 1 per type + the start-up check + ${searches} (${Math.floor(bound)} requests)`,
      met: first.requests <= bound,
    },
    {
      measure: 'Second run, nothing changed',
      result: `${unchanged.requests} requests, ${unchanged.summary.messages} messages, ${unchanged.queued} queued`,
      goal: `${fixed} requests (one per type, the start-up check, ${searches}), 0 messages`,
      met:
        unchanged.requests === fixed && unchanged.summary.messages === 0 && unchanged.queued === 0,
    },
    {
      measure: 'Threat-model step, no model changed',
      result: `${seconds(first.afterCursorsMs)} from the final cursors to the work's end (second run ${seconds(unchanged.afterCursorsMs)})`,
      goal: '',
    },
  ];
}

function printTable(rows: readonly Row[], rabbitmq: string, began: number): void {
  const cpus = os.cpus();
  console.log(
    `${os.availableParallelism()} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `${megabytes(os.totalmem())} RAM, Node ${process.version}, RabbitMQ ${rabbitmq}; ` +
      `daemon NODE_OPTIONS=${IMAGE_NODE_OPTIONS} (the image's); ` +
      `page size ${PAGE_SIZE}, log level info, throughput best of ${ROUNDS}`,
  );
  console.log(formatTable(rows));
  console.log(`Benchmark wall time: ${seconds(performance.now() - began)}`);
}

async function profiledImport(records: number): Promise<void> {
  progress(`profiled cold import of ${integer(records)} records`);
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  await importFresh({ total: records, prerender: true }, [
    '--cpu-prof',
    `--cpu-prof-dir=${PROFILE_DIR}`,
  ]);
  const [profile] = readdirSync(PROFILE_DIR).filter((name) => name.endsWith('.cpuprofile'));
  if (profile === undefined) throw new Error(`no .cpuprofile written in ${PROFILE_DIR}`);
  const { byFunction, byOrigin } = summariseSelfTime(path.join(PROFILE_DIR, profile));
  console.log();
  console.log(formatSelfTime(`Daemon self time by function (${profile})`, byFunction, 30));
  console.log();
  console.log(formatSelfTime('Daemon self time by file or package', byOrigin, 15));
}

async function main(): Promise<void> {
  const options = readOptions();
  const began = performance.now();
  const rabbitmq = await brokerVersion();
  // Throughput and API efficiency, beside the broker's own limit.
  const throughput = await throughputRounds(options.records);
  // Deactivations, right after the last round's cold import, which they are compared with.
  const revocations = await revocationRows(options.records, throughput.colds.at(-1)!);

  // Latency-bound: every page costs LATENCY_MS at the simulator.
  progress(`latency-bound import, type ip, ${integer(options.latencyOneTypeRecords)} records`);
  const oneType = await latencyBound(options.latencyOneTypeRecords, 'ip');
  progress(`latency-bound import, every type, ${integer(options.latencyRecords)} records`);
  const everyType = await latencyBound(options.latencyRecords);

  // Memory at a larger feed, and a bulletin linked to many IOCs.
  progress(`cold import of ${integer(options.largeRecords)} records`);
  const large = await importFresh({ total: options.largeRecords, prerender: true });
  const bulletin = await bulletinRows(options.bulletinIocs, throughput.shape.types);

  const searches = throughput.shape.modelSearches;
  printTable(
    [
      ...throughputRows(options.records, throughput),
      ...latencyRows(
        `type ip, ${integer(options.latencyOneTypeRecords)} records`,
        oneType,
        searches,
      ),
      ...latencyRows(`every type, ${integer(options.latencyRecords)} records`, everyType, searches),
      ...memoryRows(options, throughput.colds, large),
      ...requestRows(throughput),
      ...revocations,
      ...bulletin,
    ],
    rabbitmq,
    began,
  );
  if (options.cpuProfile) await profiledImport(options.records);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
