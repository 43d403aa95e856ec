import type { RunObserver } from '../src/connector/observer';
import type { RunSummary, TypeCounts } from '../src/connector/summary';
import type { IocType } from '../src/ioc-types';

/** Below this, a rate says more about start-up costs than about the connector. */
const MIN_MEASURED_SECONDS = 2;

const pad = (value: string | number, width: number) => String(value).padStart(width);

/** One line per saved page: this page's counts, then its type's running totals. */
export function pageLine(type: IocType, page: TypeCounts, total: TypeCounts): string {
  return (
    `${type.padEnd(7)} page ${pad(total.pages, 3)}:` +
    ` fetched ${pad(page.fetched, 5)}, imported ${pad(page.imported, 5)}, skipped ${pad(page.skipped, 3)}` +
    `   ${type} so far: imported ${pad(total.imported, 6)}`
  );
}

/** Prints a line per saved page, keeping each type's running totals. */
export function pageLines(print: (line: string) => void): RunObserver {
  const totals = new Map<IocType, TypeCounts>();
  return {
    pageSaved: (type, _cursor, page) => {
      if (page === null) return;
      const total = totals.get(type) ?? { ...page, pages: 0, fetched: 0, imported: 0, skipped: 0 };
      total.pages += 1;
      total.fetched += page.fetched;
      total.imported += page.imported;
      total.skipped += page.skipped;
      totals.set(type, total);
      print(pageLine(type, page, total));
    },
  };
}

export interface RunReport {
  title: string;
  summary: RunSummary;
  bundles: number;
  seconds: number;
  /** What the run's fetched count is measured against, e.g. the records the simulator holds. */
  context: string;
}

/** The end of a run: totals, each count explained in one line, and a rate if measurable. */
export function summaryLines({ title, summary, bundles, seconds, context }: RunReport): string[] {
  const t = summary.totals();
  const reasons = Object.entries(summary.skippedByReason)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
  const lines = [
    title,
    `  fetched   ${t.fetched}: ${context}`,
    `  imported  ${t.imported} indicators in ${bundles} bundle files`,
    `  revoked   ${t.revoked}: records no longer active in ThreatStream; OpenCTI marks them revoked`,
    `  skipped   ${t.skipped}: records that cannot become an indicator${reasons ? ` (${reasons})` : ''}`,
    `  models    ${summary.threatModels.imported} threat models changed, sent as ${modelObjects(summary)}`,
  ];
  if (seconds >= MIN_MEASURED_SECONDS) {
    lines.push(
      `  rate      ${Math.round(t.fetched / seconds)} records/s over ${seconds.toFixed(1)} s`,
    );
  }
  return lines;
}

/** The STIX objects the threat-model import sent, by type, e.g. `3 report, 4 relationship`. */
function modelObjects(summary: RunSummary): string {
  const counts = Object.entries(summary.threatModels.objects).map(([type, n]) => `${n} ${type}`);
  return counts.length === 0 ? 'nothing' : counts.join(', ');
}

/** What a user does after the demo. */
export const NEXT_STEPS = [
  'Next:',
  '  1. Dry run against your account (writes bundles, needs no OpenCTI):',
  '       npm run build',
  '       ANOMALI_USERNAME=you@example.com ANOMALI_API_KEY=... \\',
  '         node dist/main.js --dry-run --out bundles --state state.json',
  '  2. Import into OpenCTI: cp .env.sample .env, fill it in, then docker compose up -d',
  '  3. Run the tests (they need a local RabbitMQ, see README.md): npm test',
];
