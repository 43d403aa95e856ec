import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config';
import { dryRun } from '../../src/dryrun/dry-run';
import { FileStateStore, StateFileError } from '../../src/dryrun/file-state';
import { bundleSchema } from '../../src/stix/types';
import {
  startSimulator,
  type FaultHook,
  type ThreatStreamSimulator,
} from '../../stand-ins/threatstream/simulator';
import { captureLogs } from '../support/capture';
import {
  API_KEY,
  FEED_START,
  USERNAME,
  expectedIndicatorIds,
  lastUpdateId,
} from '../support/connector-env';

let simulator: ThreatStreamSimulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

const never = new AbortController().signal;

async function setup(total: number, fault?: FaultHook) {
  simulator = await startSimulator({
    username: USERNAME,
    apiKey: API_KEY,
    total,
    startTime: FEED_START,
    ...(fault && { fault }),
  });
  const dir = mkdtempSync(join(tmpdir(), 'dry-run-'));
  // No OpenCTI settings at all: a dry run does not need them.
  const config = loadConfig(
    {
      CONNECTOR_DRY_RUN: 'true',
      CONNECTOR_DRY_RUN_OUT: join(dir, 'bundles'),
      CONNECTOR_DRY_RUN_STATE: join(dir, 'state.json'),
      ANOMALI_URL: simulator.url,
      ANOMALI_USERNAME: USERNAME,
      ANOMALI_API_KEY: API_KEY,
      ANOMALI_IMPORT_START: 'P7D',
      ANOMALI_STABILITY_DELAY: '0',
      ANOMALI_TYPES: 'domain,hash',
    },
    dir,
  );
  return { dir, config };
}

const indicatorIdsIn = (files: string[]) =>
  new Set(
    files.flatMap((file) =>
      bundleSchema
        .parse(JSON.parse(readFileSync(file, 'utf8')))
        .objects.filter((o) => o.type === 'indicator')
        .map((o) => o.id),
    ),
  );

describe('dry run', () => {
  it('writes valid STIX bundle files and keeps the cursors in a local file', async () => {
    const { dir, config } = await setup(2000);
    const { summary, files } = await dryRun(config, captureLogs().logger, {
      stop: never,
      abort: never,
    });
    expect(summary.outcome).toBe('completed');
    expect(readdirSync(join(dir, 'bundles')).sort()).toEqual(
      files.map((f) => f.split('/').at(-1)).sort(),
    );
    expect(files.every((f) => /threatstream-.+-\d{5}\.json$/.test(f))).toBe(true);
    expect(indicatorIdsIn(files)).toEqual(expectedIndicatorIds(2000, ['domain', 'hash'], true));
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))).toEqual({
      cursors: {
        domain: lastUpdateId(2000, 'domain', true),
        hash: lastUpdateId(2000, 'hash', true),
      },
    });
  });

  it('continues from the state file on the next dry run', async () => {
    const { config } = await setup(1000);
    const run = () => dryRun(config, captureLogs().logger, { stop: never, abort: never });
    await run();
    const coldCursors = {
      domain: lastUpdateId(1000, 'domain', true)!,
      hash: lastUpdateId(1000, 'hash', true)!,
    };
    // The incremental run sees every status: inactive records above the cold start's cursors.
    const tail = await run();
    expect(indicatorIdsIn(tail.files)).toEqual(
      expectedIndicatorIds(1000, ['domain', 'hash'], false, coldCursors),
    );
    expect((await run()).files).toEqual([]);
    simulator!.setTotal(1300);
    const next = await run();
    const cursors = {
      domain: lastUpdateId(1000, 'domain', false)!,
      hash: lastUpdateId(1000, 'hash', false)!,
    };
    expect(indicatorIdsIn(next.files)).toEqual(
      expectedIndicatorIds(1300, ['domain', 'hash'], false, cursors),
    );
  });

  it('fails on the first type that fails, after a few quick attempts, without trying the next', async () => {
    const { config } = await setup(500, (request) =>
      request.query.type === 'domain' ? { status: 503 } : undefined,
    );
    const run = dryRun(config, captureLogs().logger, { stop: never, abort: never });
    await expect(run).rejects.toThrow(
      /domain: ThreatStream request for type domain failed after 3 attempt/,
    );
    const types = simulator!.requests.recent.map((r) => r.query.type);
    expect(types).toEqual(['domain', 'domain', 'domain']);
  });

  it('refuses a state file it cannot read rather than starting over silently', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'state-')), 'state.json');
    writeFileSync(path, '{"cursors": "nope"}');
    expect(() => new FileStateStore(path)).toThrow(StateFileError);
  });
});
