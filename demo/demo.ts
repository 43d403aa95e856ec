import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, type Config } from '../src/config';
import { dryRun } from '../src/dryrun/dry-run';
import { createLogger } from '../src/log';
import { startSimulator, type ThreatStreamSimulator } from '../stand-ins/threatstream/simulator';
import { NEXT_STEPS, pageLines, summaryLines } from './report';

/**
 * `npm run demo`: a dry run against the built-in ThreatStream simulator. No credentials, no
 * network, no OpenCTI: it shows what the connector would send, as bundle files on disk.
 */
const RECORDS = Number(process.env.DEMO_RECORDS ?? 5000);
const OUT = resolve(process.env.DEMO_OUT ?? 'demo-output');
const USERNAME = 'demo@example.com';
const API_KEY = 'demo-api-key';

const NEW_RECORDS = 500;
const DEACTIVATED = 50;

/** The demo's ThreatStream: records one per second, ending an hour ago, and linked models. */
function startDemoSimulator(): Promise<ThreatStreamSimulator> {
  // All inside the import window and already stable.
  const startTime = new Date(Date.now() - RECORDS * 1000 - 3_600_000);
  return startSimulator({
    username: USERNAME,
    apiKey: API_KEY,
    total: RECORDS,
    startTime,
    // Bulletins, actors, campaigns, malware… linked to each other and to records of the feed.
    models: { perType: 3, iocsPerModel: 25 },
  });
}

function demoConfig(simulator: ThreatStreamSimulator): Config {
  return loadConfig(
    {
      CONNECTOR_DRY_RUN: 'true',
      CONNECTOR_DRY_RUN_OUT: join(OUT, 'bundles'),
      CONNECTOR_DRY_RUN_STATE: join(OUT, 'state.json'),
      ANOMALI_URL: simulator.url,
      ANOMALI_USERNAME: USERNAME,
      ANOMALI_API_KEY: API_KEY,
      ANOMALI_IMPORT_START: 'P30D',
    },
    OUT,
  );
}

/** One dry run, reported as it goes and summed up at its end. */
async function reportedRun(config: Config, title: string, context: string): Promise<void> {
  const logger = createLogger({ level: 'error', secrets: [API_KEY] });
  const never = new AbortController().signal;
  const started = performance.now();
  const { summary, files } = await dryRun(
    config,
    logger,
    { stop: never, abort: never },
    pageLines((line) => console.log(line)),
  );
  const seconds = (performance.now() - started) / 1000;
  const report = { title, summary, bundles: files.length, seconds, context };
  console.log(['', ...summaryLines(report)].join('\n'));
}

/**
 * ThreatStream moves on: new IOCs arrive and some are deactivated. The next run starts from the
 * stored cursors and fetches every status, so the deactivations become revocations.
 */
function moveFeedOn(simulator: ThreatStreamSimulator): void {
  simulator.setTotal(RECORDS + NEW_RECORDS);
  for (let i = 0; i < DEACTIVATED; i++) simulator.mutate(i * 37, { status: 'inactive' });
  const actor = simulator.threatModel.models.find((m) => m.type === 'actor' && m.published);
  // Changed two minutes ago: older than the stability delay, so the next run takes it.
  if (actor) simulator.threatModel.touch('actor', actor.id, new Date(Date.now() - 120_000));
}

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  const simulator = await startDemoSimulator();
  const config = demoConfig(simulator);
  console.log(
    `Dry run of ${RECORDS} simulated ThreatStream records (${config.anomali.types.join(', ')})\n`,
  );
  try {
    await reportedRun(
      config,
      'Cold start (active IOCs of the import window)',
      `of the ${RECORDS} simulated records; a cold start asks only for the active ones`,
    );
    moveFeedOn(simulator);
    console.log(
      `\n${NEW_RECORDS} new records, ${DEACTIVATED} deactivations and one actor changed later:\n`,
    );
    await reportedRun(
      config,
      'Incremental run (from the stored cursors)',
      `the records changed since the last run, whatever their status: the ${NEW_RECORDS} new ` +
        `(some arrive inactive) and the ${DEACTIVATED} deactivated`,
    );
    console.log(`\nBundles: ${join(OUT, 'bundles')}   cursors: ${join(OUT, 'state.json')}\n`);
    console.log(NEXT_STEPS.join('\n'));
  } finally {
    await simulator.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
