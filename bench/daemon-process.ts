import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

const REPOSITORY = path.resolve(__dirname, '..', '..');

/** The built daemon, run exactly as the container runs it. */
export const DAEMON_ENTRY = path.join(REPOSITORY, 'dist', 'main.js');

/** The image's NODE_OPTIONS (its heap sizing), so the daemon is measured as it is deployed. */
export const IMAGE_NODE_OPTIONS = imageNodeOptions(
  readFileSync(path.join(REPOSITORY, 'Dockerfile'), 'utf8'),
);

function imageNodeOptions(dockerfile: string): string {
  const joined = dockerfile.replace(/\\\n\s*/g, ' '); // continuation lines
  const match = /^ENV\s.*\bNODE_OPTIONS=("[^"]*"|\S+)/m.exec(joined);
  if (!match?.[1]) throw new Error('the Dockerfile sets no NODE_OPTIONS');
  return match[1].replace(/^"|"$/g, '');
}

const MEMORY_SAMPLE_INTERVAL_MS = 20;
/** A run of half a million records takes well under a minute here; anything beyond is a hang. */
const DAEMON_TIMEOUT_MS = 4 * 60_000;

/** What the daemon logged at the end of its run (RunSummary.toJSON). */
export interface RunEnded {
  outcome: string;
  fetched: number;
  imported: number;
  skipped: number;
  revoked: number;
  pages: number;
  bundles: number;
  messages: number;
  skipped_by_reason: Record<string, number>;
  /** Threat models imported, and the objects their bundles held by STIX type. */
  threat_models: { imported: number; objects: Record<string, number> };
}

export interface DaemonRun {
  exitCode: number | null;
  /** Peak resident set size (VmHWM), in bytes. */
  peakRssBytes: number;
  summary: RunEnded | undefined;
  /** Lines logged at warn or error, for the report when something went wrong. */
  problems: string[];
  wallMs: number;
}

/** The kernel's high-water mark of the process's resident memory; undefined once it has exited. */
function readPeakRss(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `node dist/main.js` once (run-and-terminate) with only the given environment and the
 * image's NODE_OPTIONS, sampling its peak RSS while it runs. `nodeFlags` go before the script,
 * e.g. `--cpu-prof`.
 */
export async function runDaemon(
  env: Record<string, string>,
  nodeFlags: readonly string[] = [],
): Promise<DaemonRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, DAEMON_ENTRY], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_OPTIONS: IMAGE_NODE_OPTIONS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the daemon could not be started');

  let peakRssBytes = 0;
  const sample = () => {
    const peak = readPeakRss(pid);
    if (peak !== undefined) peakRssBytes = Math.max(peakRssBytes, peak);
  };
  const sampler = setInterval(sample, MEMORY_SAMPLE_INTERVAL_MS);
  const killer = setTimeout(() => child.kill('SIGKILL'), DAEMON_TIMEOUT_MS);

  let summary: RunEnded | undefined;
  const problems: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let entry: { level?: string; message?: string } & Partial<RunEnded>;
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      problems.push(line);
      return;
    }
    if (entry.message === 'Run ended') summary = entry as RunEnded;
    if (entry.level === 'warn' || entry.level === 'error') problems.push(line);
  });
  createInterface({ input: child.stderr }).on('line', (line) => problems.push(line));

  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    // 'exit' comes before the pipes are drained; 'close' after, so the summary line is in.
    child.once('close', (code) => resolve(code));
  });
  clearInterval(sampler);
  clearTimeout(killer);
  return { exitCode, peakRssBytes, summary, problems, wallMs: performance.now() - started };
}
