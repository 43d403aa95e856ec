export interface Row {
  measure: string;
  result: string;
  goal: string;
  /** undefined for rows that only inform. */
  met?: boolean;
}

const HEADERS = ['Measure', 'Result', 'Goal', 'Met'] as const;

function verdict(met: boolean | undefined): string {
  if (met === undefined) return '';
  return met ? 'yes' : 'NO';
}

/** A Markdown table, padded so it also reads well in a terminal. */
export function formatTable(rows: readonly Row[]): string {
  const cells = rows.map((row) => [row.measure, row.result, row.goal, verdict(row.met)]);
  const widths = HEADERS.map((header, column) =>
    Math.max(header.length, ...cells.map((line) => line[column]!.length)),
  );
  const line = (values: readonly string[]) =>
    `| ${values.map((value, column) => value.padEnd(widths[column]!)).join(' | ')} |`;
  return [
    line(HEADERS),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...cells.map(line),
  ].join('\n');
}

export const integer = (n: number): string => Math.round(n).toLocaleString('en-US');
export const decimal = (n: number, digits = 2): string => n.toFixed(digits);
export const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** Where the bench is, on stderr: the table goes to stdout. */
export const progress = (text: string): void => {
  process.stderr.write(`[bench] ${text}\n`);
};
