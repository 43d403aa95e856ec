import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../src/config';
import type { RunObserver } from '../src/connector/observer';
import { RunSummary } from '../src/connector/summary';
import { dryRun } from '../src/dryrun/dry-run';
import { createLogger } from '../src/log';
import { startSimulator } from '../stand-ins/threatstream/simulator';

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
    // Bulletins, actors, campaigns, malware… linked to each other and to records of the feed.
    models: { perType: 3, iocsPerModel: 25 },
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
  const progress = (): RunObserver => {
    const summary = new RunSummary(new Date());
    return {
      fetched: (type, records) => summary.fetched(type, records),
      skipped: (type, reason) => summary.skipped(type, reason),
      delivered: (type, objects, messages) => summary.delivered(type, objects, messages),
      modelDelivered: (objects, messages) => summary.modelDelivered(objects, messages),
      modelSaved: (type, id) => {
        summary.modelSaved();
        console.log(`threat model ${type} ${id} imported`);
      },
      pageSaved: (type, cursor) => {
        summary.pageSaved(type, cursor);
        const c = summary.typeCounts(type);
        console.log(
          `${type.padEnd(7)} page ${pad(c.pages, 3)}  fetched ${pad(c.fetched, 6)}  imported ${pad(c.imported, 6)}` +
            `  skipped ${pad(c.skipped, 5)}  cursor ${cursor}`,
        );
      },
    };
  };
  const never = new AbortController().signal;
  try {
    const first = Date.now();
    const cold = await dryRun(config, logger, { stop: never, abort: never }, progress());
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
    const actor = simulator.threatModel.models.find((m) => m.type === 'actor' && m.published);
    // Changed two minutes ago: older than the stability delay, so this run takes it.
    if (actor) simulator.threatModel.touch('actor', actor.id, new Date(Date.now() - 120_000));
    console.log('\n500 new records, 50 deactivations and one actor changed later:\n');
    const second = Date.now();
    const incremental = await dryRun(config, logger, { stop: never, abort: never }, progress());
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
  const { imported, objects } = summary.threatModels;
  console.log(`  threat models ${imported} imported, sent as:`);
  for (const [type, n] of Object.entries(objects)) {
    console.log(`    ${type.padEnd(20)} ${pad(n, 6)}`);
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
