import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The parts of a V8 .cpuprofile (written by `node --cpu-prof`) that self time needs. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

/** Where a function lives, short: `dist/stix/convert.js`, `zod`, `node:buffer`. */
function origin(url: string): string {
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return url;
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) return file.slice(modules + '/node_modules/'.length).split('/')[0] ?? file;
  return path.relative(process.cwd(), file);
}

/**
 * Self time (time on top of the stack) summed by function and by where it lives, biggest first.
 * Sample i lasted timeDeltas[i + 1]; the last one's length is unknown and ignored.
 */
export function summariseSelfTime(file: string): { byFunction: SelfTime[]; byOrigin: SelfTime[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length - 1; i++) {
    const frame = nodes.get(profile.samples[i]!);
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (frame === undefined) continue;
    const where = origin(frame.url);
    const name = `${frame.functionName || '(anonymous)'} ${where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byOrigin.set(where, (byOrigin.get(where) ?? 0) + us);
    totalUs += us;
  }
  const ranked = (times: Map<string, number>): SelfTime[] =>
    [...times]
      .map(([name, us]) => ({ name, ms: us / 1000, share: totalUs === 0 ? 0 : us / totalUs }))
      .sort((a, b) => b.ms - a.ms);
  return { byFunction: ranked(byFunction), byOrigin: ranked(byOrigin) };
}

export function formatSelfTime(title: string, rows: readonly SelfTime[], limit: number): string {
  const lines = rows
    .slice(0, limit)
    .map(
      (row) =>
        `${row.ms.toFixed(0).padStart(8)} ms ${(row.share * 100).toFixed(1).padStart(5)} %  ${row.name}`,
    );
  return [title, ...lines].join('\n');
}

/** `node dist-tools/bench/cpu-profile.js <file.cpuprofile> [rows]` */
if (require.main === module) {
  const [file, rows = '30'] = process.argv.slice(2);
  if (file === undefined) {
    console.error('usage: cpu-profile.js <file.cpuprofile> [rows]');
    process.exit(2);
  }
  const { byFunction, byOrigin } = summariseSelfTime(file);
  console.log(formatSelfTime('Self time by function', byFunction, Number(rows)));
  console.log();
  console.log(formatSelfTime('Self time by file or package', byOrigin, Number(rows)));
}
