import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { NEXT_STEPS, pageLines, summaryLines } from '../demo/report';
import { loadConfig } from '../src/config';
import type { TypeCounts } from '../src/connector/summary';
import { RunSummary } from '../src/connector/summary';
import { dryRun } from '../src/dryrun/dry-run';
import { silentLogger } from '../src/log';
import { startSimulator, type ThreatStreamSimulator } from '../stand-ins/threatstream/simulator';
import { API_KEY, FEED_START, USERNAME } from './support/connector-env';

let simulator: ThreatStreamSimulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

const never = new AbortController().signal;

const counts = (c: Partial<TypeCounts>): TypeCounts => ({
  fetched: 0,
  imported: 0,
  revoked: 0,
  revoked_unverified: 0,
  skipped: 0,
  truncated: 0,
  pages: 0,
  ...c,
});

/** The numbers of a page line: this page's fetched, imported, skipped, then the type's total. */
function numbersOf(line: string): number[] {
  const match =
    /page +(\d+): fetched +(\d+), imported +(\d+), skipped +(\d+) .* imported +(\d+)$/.exec(line);
  expect(match).not.toBeNull();
  return match!.slice(1).map(Number);
}

describe('the demo', () => {
  it("prints each page's own counts and its type's running total", async () => {
    simulator = await startSimulator({
      username: USERNAME,
      apiKey: API_KEY,
      total: 3000,
      startTime: FEED_START,
    });
    const dir = mkdtempSync(join(tmpdir(), 'demo-'));
    const config = loadConfig(
      {
        CONNECTOR_DRY_RUN: 'true',
        CONNECTOR_DRY_RUN_OUT: join(dir, 'bundles'),
        CONNECTOR_DRY_RUN_STATE: join(dir, 'state.json'),
        ANOMALI_URL: simulator.url,
        ANOMALI_USERNAME: USERNAME,
        ANOMALI_API_KEY: API_KEY,
        ANOMALI_PAGE_SIZE: '100',
        ANOMALI_TYPES: 'ip,domain',
        ANOMALI_STABILITY_DELAY: '0',
      },
      dir,
    );
    const lines: string[] = [];
    const { summary } = await dryRun(
      config,
      silentLogger(),
      { stop: never, abort: never },
      pageLines((l) => lines.push(l)),
    );

    for (const type of ['ip', 'domain'] as const) {
      const pages = lines.filter((l) => l.startsWith(`${type} `)).map(numbersOf);
      expect(pages.length).toBeGreaterThan(1);
      let running = 0;
      pages.forEach(([page, fetched, imported, skipped, total], index) => {
        expect(page).toBe(index + 1);
        expect(fetched).toBeLessThanOrEqual(100);
        expect(imported! + skipped!).toBeLessThanOrEqual(fetched!);
        running += imported!;
        expect(total).toBe(running);
      });
      const whole = summary.typeCounts(type);
      expect(pages.reduce((sum, [, fetched]) => sum + fetched!, 0)).toBe(whole.fetched);
      expect(running).toBe(whole.imported);
    }
  });

  it('explains the skipped and revoked counts in one line each', () => {
    const summary = new RunSummary(new Date(0));
    summary.fetched('ip', 10);
    summary.skipped('ip', 'invalid_value');
    const lines = summaryLines({
      title: 'Run',
      summary,
      bundles: 1,
      seconds: 0.3,
      context: 'of 10',
    });
    expect(lines.filter((l) => l.trimStart().startsWith('skipped'))).toEqual([
      '  skipped   1: records that cannot become an indicator (1 invalid_value)',
    ]);
    expect(lines.filter((l) => l.trimStart().startsWith('revoked'))).toEqual([
      '  revoked   0: records no longer active in ThreatStream; OpenCTI marks them revoked',
    ]);
    expect(lines).toContain('  fetched   10: of 10');
  });

  it('prints a rate only for a run long enough to measure', () => {
    const summary = new RunSummary(new Date(0));
    summary.fetched('ip', 5000);
    const report = { title: 'Run', summary, bundles: 1, context: '' };
    expect(summaryLines({ ...report, seconds: 0.3 }).some((l) => l.includes('rate'))).toBe(false);
    expect(summaryLines({ ...report, seconds: 2.5 })).toContain(
      '  rate      2000 records/s over 2.5 s',
    );
  });

  it('ends with the three commands a user runs next', () => {
    const text = NEXT_STEPS.join('\n');
    expect(text).toMatch(/node dist\/main\.js --dry-run/);
    expect(text).toMatch(/docker compose up -d/);
    expect(text).toMatch(/npm test/);
  });

  it("adds each page's counts to its type's running total", () => {
    const lines: string[] = [];
    const observer = pageLines((l) => lines.push(l));
    observer.pageSaved!('ip', '1', counts({ fetched: 100, imported: 90, skipped: 10 }));
    observer.pageSaved!('ip', '2', counts({ fetched: 50, imported: 50 }));
    expect(lines.map(numbersOf)).toEqual([
      [1, 100, 90, 10, 90],
      [2, 50, 50, 0, 140],
    ]);
  });
});
