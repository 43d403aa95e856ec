import { loadConfig } from '../src/config';
import { runSettings } from '../src/connector/settings';
import { convertRecord } from '../src/stix/convert';
import { WIRE_TYPE } from '../src/threatstream/query';
import { parseRecords } from '../src/threatstream/schema';
import { recordAt, updateIdAt } from '../stand-ins/threatstream/simulator';
import { startEnvironment, type BenchEnvironment } from './environment';
import { importOnce, perSecond, type Import } from './import-run';
import { decimal, integer, megabytes, progress, seconds, type Row } from './report';

/**
 * An incremental run over a feed whose records are 10 % deactivations, half of them of IOCs
 * OpenCTI holds: the connector asks OpenCTI which it holds and revokes only those.
 */

const NON_ACTIVE_SHARE = 0.1;
/** The state OpenCTI stores holds a cursor just below the first record: every status comes. */
const STORED_CURSOR = String(updateIdAt(0) - 1);
const GOALS = { ofColdImport: 0.95, recordsPerLookup: 500 };

interface Deactivations {
  /** Indicator ids of the deactivated IOCs, as the connector converts them, in feed order. */
  ids: string[];
  /** Every other one: OpenCTI's workers imported them earlier. */
  held: string[];
  /** Records fetched that are not active, convertible or not. */
  records: number;
}

/** The feed's deactivations, computed from the simulator's records with the connector's own conversion. */
function deactivationsOf(env: BenchEnvironment, total: number): Deactivations {
  const { convert, types } = runSettings(loadConfig(env.daemonEnv));
  const wireTypes = new Set<string>(types.map((type) => WIRE_TYPE[type]));
  const ids = new Set<string>();
  let records = 0;
  for (let i = 0; i < total; i++) {
    const record = recordAt(i, { startTime: env.feedStart, nonActiveShare: NON_ACTIVE_SHARE });
    if (record.status === 'active' || !wireTypes.has(record.type)) continue;
    records++;
    for (const parsed of parseRecords([record]).records) {
      const converted = convertRecord(parsed, convert);
      if (converted.ok) ids.add(converted.indicator.id);
    }
  }
  const all = [...ids];
  return { ids: all, held: all.filter((_, n) => n % 2 === 0), records };
}

/** The incremental run, its environment prepared and torn down. */
async function incrementalRun(total: number): Promise<{ run: Import; feed: Deactivations }> {
  const env = await startEnvironment({
    total,
    prerender: true,
    nonActiveShare: NON_ACTIVE_SHARE,
    storedCursor: STORED_CURSOR,
  });
  try {
    const feed = deactivationsOf(env, total);
    env.opencti.importIndicators(feed.held);
    return { run: await importOnce(env), feed };
  } finally {
    await env.close();
  }
}

/** Measures the incremental run beside `cold`, the cold import run just before it. */
export async function revocationRows(total: number, cold: Import): Promise<Row[]> {
  progress(
    `incremental run of ${integer(total)} records, ${NON_ACTIVE_SHARE * 100} % deactivations`,
  );
  const { run, feed } = await incrementalRun(total);
  const { summary } = run;
  const rate = perSecond(summary.fetched, run.wallMs);
  const coldRate = perSecond(cold.summary.fetched, cold.wallMs);
  const ofCold = rate / coldRate;
  const neverImported = feed.ids.length - feed.held.length;
  const skipped = summary.skipped_by_reason['not_in_opencti'] ?? 0;
  const lookupBound = Math.ceil(feed.records / GOALS.recordsPerLookup);
  return [
    {
      measure: `Incremental run, ${integer(total)} records, ${NON_ACTIVE_SHARE * 100} % deactivations`,
      result: `${integer(rate)} IOCs/s (${integer(summary.fetched)} IOCs in ${seconds(run.wallMs)}, peak RSS ${megabytes(run.run.peakRssBytes)}); ${decimal(ofCold)} of the cold import's ${integer(coldRate)} IOCs/s`,
      goal: `>= ${decimal(GOALS.ofColdImport)} of the cold import's IOCs/s`,
      met: ofCold >= GOALS.ofColdImport,
    },
    {
      measure: '  revoked / skipped not_in_opencti',
      result: `${integer(summary.revoked)} revoked (${integer(feed.held.length)} held), ${integer(skipped)} skipped (${integer(neverImported)} never imported); ${integer(summary.messages)} messages, ${integer(run.queued)} queued`,
      goal: 'revoked = held, skipped = never imported, all queued',
      met:
        summary.revoked === feed.held.length &&
        skipped === neverImported &&
        run.queued === summary.messages,
    },
    {
      measure: '  OpenCTI lookups (indicators queries)',
      result: `${run.lookups} queries for ${integer(feed.records)} non-active records (${summary.pages} pages)`,
      goal: `<= 1 per ${GOALS.recordsPerLookup} non-active records (${lookupBound})`,
      met: run.lookups <= lookupBound,
    },
  ];
}
