import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from './config';
import type { RunSummary } from './connector/summary';
import { dryRun } from './dryrun/dry-run';
import { createLogger } from './log';
import type { IocType } from './ioc-types';
import { startSimulator } from './threatstream/simulator';

/**
 * `npm run demo`: a dry run against the built-in ThreatStream simulator. No credentials, no
 * network, no OpenCTI: it shows what the connector would send, as bundle files on disk.
 */
const RECORDS = Number(process.env.DEMO_RECORDS ?? 5000);
const OUT = resolve(process.env.DEMO_OUT ?? 'demo-output');
const USERNAME = 'demo@example.com';
const API_KEY = 'demo-api-key';

const pad = (value: string | number, width: number) => String(value).padStart(width);

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  // Records one per second, ending an hour ago: all inside the import window and already stable.
  const startTime = new Date(Date.now() - RECORDS * 1000 - 3_600_000);
  const simulator = await startSimulator({
    username: USERNAME,
    apiKey: API_KEY,
    total: RECORDS,
    startTime,
  });
  const config = loadConfig(
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
  const logger = createLogger({ level: 'error', secrets: [API_KEY] });
  console.log(
    `Dry run of ${RECORDS} simulated ThreatStream records (${config.anomali.types.join(', ')})\n`,
  );
  const onPage = (type: IocType, summary: RunSummary) => {
    const c = summary.typeCounts(type);
    console.log(
      `${type.padEnd(7)} page ${pad(c.pages, 3)}  fetched ${pad(c.fetched, 6)}  imported ${pad(c.imported, 6)}` +
        `  skipped ${pad(c.skipped, 5)}  cursor ${summary.cursors[type]}`,
    );
  };
  const never = new AbortController().signal;
  try {
    const first = Date.now();
    const cold = await dryRun(config, logger, { stop: never, abort: never }, onPage);
    printSummary(
      'Cold start (active IOCs of the import window)',
      cold.summary,
      cold.files.length,
      first,
    );

    // ThreatStream moves on: new IOCs arrive and some are deactivated. The next run starts
    // from the stored cursors and fetches every status, so the deactivations become revocations.
    simulator.setTotal(RECORDS + 500);
    for (let i = 0; i < 50; i++) simulator.mutate(i * 37, { status: 'inactive' });
    console.log('\n500 new records and 50 deactivations later:\n');
    const second = Date.now();
    const incremental = await dryRun(config, logger, { stop: never, abort: never }, onPage);
    printSummary(
      'Incremental run (from the stored cursors)',
      incremental.summary,
      incremental.files.length,
      second,
    );
    console.log(`\nBundles: ${join(OUT, 'bundles')}   cursors: ${join(OUT, 'state.json')}`);
  } finally {
    await simulator.close();
  }
}

function printSummary(
  title: string,
  summary: RunSummary,
  bundles: number,
  startedAt: number,
): void {
  const seconds = (Date.now() - startedAt) / 1000;
  const totals = summary.totals();
  console.log(`\n${title}`);
  console.log(`  fetched   ${totals.fetched}`);
  console.log(`  imported  ${totals.imported} indicators, ${totals.revoked} of them revoked`);
  for (const [type, counts] of Object.entries(summary.byType)) {
    console.log(`    ${type.padEnd(7)} ${pad(counts.imported, 6)}`);
  }
  console.log(`  skipped   ${totals.skipped}`);
  for (const [reason, n] of Object.entries(summary.skippedByReason)) {
    console.log(`    ${reason.padEnd(20)} ${pad(n, 6)}`);
  }
  console.log(`  bundles   ${bundles} written`);
  console.log(
    `  speed     ${Math.round(totals.fetched / seconds)} IOC/s (${seconds.toFixed(1)} s)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
