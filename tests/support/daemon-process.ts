import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The built connector (`node dist/main.js`) as a child process, the way a container runs it:
 * configured by environment only, logging JSON lines, stopped by signals.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCES = path.join(ROOT, 'src');
export const DAEMON_MAIN = path.join(ROOT, 'dist', 'main.js');
/** Several test processes may share this work tree; only one of them builds at a time. */
const BUILD_LOCK = path.join(
  tmpdir(),
  `threatstream-connector-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);
const BUILD_LOCK_STALE_MS = 120_000;

export interface LogEntry {
  level: string;
  message: string;
  [field: string]: unknown;
}

function newestModification(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    newest = Math.max(
      newest,
      entry.isDirectory() ? newestModification(full) : statSync(full).mtimeMs,
    );
  }
  return newest;
}

const isStale = () =>
  !existsSync(DAEMON_MAIN) || statSync(DAEMON_MAIN).mtimeMs < newestModification(SOURCES);

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function acquireBuildLock(): void {
  const deadline = Date.now() + BUILD_LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = statSync(BUILD_LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - since > BUILD_LOCK_STALE_MS || Date.now() > deadline) {
        rmSync(BUILD_LOCK, { recursive: true, force: true });
      }
      sleepSync(200);
    }
  }
}

let builtInThisProcess = false;

/** Runs `npm run build` when dist/ is missing or older than src/, once per test process. */
export function ensureBuilt(): void {
  if (builtInThisProcess) return;
  if (isStale()) {
    acquireBuildLock();
    try {
      // Another process may have built while we waited for the lock.
      if (isStale()) {
        try {
          execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
        } catch (error) {
          // tsc writes its output even when the types are wrong: without this, the next run
          // would take the half-built dist/ for a good one.
          rmSync(DAEMON_MAIN, { force: true });
          const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
          throw new Error(
            `npm run build failed:\n${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}`,
            { cause: error },
          );
        }
      }
    } finally {
      rmSync(BUILD_LOCK, { recursive: true, force: true });
    }
  }
  builtInThisProcess = true;
}

export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class DaemonProcess {
  /** Every JSON line of stdout and stderr, in arrival order. */
  readonly logs: LogEntry[] = [];
  /** Lines that are not JSON (a crash trace, a runtime warning). */
  readonly otherLines: string[] = [];
  readonly exited: Promise<DaemonExit>;
  private readonly raw: string[] = [];
  private exit: DaemonExit | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly child: ChildProcess) {
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.raw.push(chunk);
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) this.take(line);
      });
      stream?.on('end', () => {
        if (pending !== '') this.take(pending);
        pending = '';
      });
    }
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Null while running, or when a signal ended the process. */
  get exitCode(): number | null {
    return this.exit?.code ?? null;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Everything the process wrote, stdout and stderr interleaved as received. */
  output(): string {
    return this.raw.join('');
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Resolves with the first log entry matching; rejects if the process exits first or on timeout. */
  waitForLog(predicate: (entry: LogEntry) => boolean, timeoutMs = 20_000): Promise<LogEntry> {
    return this.waitFor(() => this.logs.find(predicate), timeoutMs, 'log line');
  }

  /** Resolves with the exit code; rejects on timeout. */
  async waitForExit(timeoutMs = 30_000): Promise<DaemonExit> {
    await this.waitFor(() => this.exit, timeoutMs, 'exit', false);
    return this.exit!;
  }

  private waitFor<T>(
    found: () => T | undefined,
    timeoutMs: number,
    what: string,
    failOnExit = true,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = found();
        if (value !== undefined) return settle(() => resolve(value));
        if (failOnExit && !this.running) {
          return settle(() =>
            reject(new Error(`daemon exited before the ${what}:\n${this.tail()}`)),
          );
        }
      };
      const timer = setTimeout(
        () => settle(() => reject(new Error(`no ${what} within ${timeoutMs} ms:\n${this.tail()}`))),
        timeoutMs,
      );
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        fn();
      };
      this.waiters.add(check);
      check();
    });
  }

  private tail(): string {
    return this.output().split('\n').slice(-15).join('\n');
  }

  private take(line: string): void {
    if (line.trim() === '') return;
    try {
      this.logs.push(JSON.parse(line) as LogEntry);
    } catch {
      this.otherLines.push(line);
    }
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

const started = new Set<DaemonProcess>();

/**
 * Starts `node dist/main.js` with exactly the given environment (plus PATH), so that nothing
 * from the test runner's environment configures it by accident.
 */
export function startDaemon(
  env: Record<string, string>,
  options: { args?: string[]; cwd?: string } = {},
): DaemonProcess {
  ensureBuilt();
  const child = spawn(process.execPath, [DAEMON_MAIN, ...(options.args ?? [])], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const daemon = new DaemonProcess(child);
  started.add(daemon);
  void daemon.exited.then(() => started.delete(daemon));
  return daemon;
}

/** For afterEach: kills whatever a failed test left running (only the daemons started here). */
export async function killStartedDaemons(): Promise<void> {
  const running = [...started];
  for (const daemon of running) daemon.kill('SIGKILL');
  await Promise.all(running.map((daemon) => daemon.exited));
}
