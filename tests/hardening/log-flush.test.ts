import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { DAEMON_MAIN, ensureBuilt } from '../support/daemon-process';
import type { FaultHook } from '../../stand-ins/threatstream/simulator';
import { faultOnRequests, type CountingFault, type Fault } from '../support/threatstream-faults';
import { NEXT_LINK, intelRecord, pageBody } from '../support/threatstream-fixtures';
import { waitUntil } from '../support/wait';

/**
 * The end of the log is what tells an operator how a run ended. A log collector that reads the
 * daemon's stdout slowly must still get every line, whichever way the process ends.
 */

/** The reader takes this much every READ_EVERY_MS: far less than the daemon writes at once. */
const READ_BYTES = 16 * 1024;
const READ_EVERY_MS = 50;

/** One warn line each, written within a moment: far more than a pipe holds. */
const SKIPPED_RECORDS = 2000;
const FIRST_UPDATE_ID = 1_000_000_000;

let world: ConnectorWorld | undefined;
let child: ChildProcess | undefined;

beforeAll(() => ensureBuilt(), 120_000);

afterEach(async () => {
  if (child?.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'close');
  }
  child = undefined;
  await world?.close();
  world = undefined;
});

interface SlowRun {
  /** Every line read, parsed; a line cut short shows as CUT_LINE. */
  lines(): { message: string }[];
  /** The exit code, once stdout is read to its end. */
  ended: Promise<number | null>;
}

/** Reads a pipe a few kilobytes at a time with a rest in between, as a busy log collector does. */
function readSlowly(stream: Readable, chunks: string[]): Promise<void> {
  stream.setEncoding('utf8');
  // Read at our own pace; without a listener, Node would drain the pipe itself once the child exits.
  stream.on('readable', () => undefined);
  const reader = setInterval(() => {
    const chunk = (stream.read(READ_BYTES) ?? stream.read()) as string | null;
    if (chunk !== null) chunks.push(chunk);
  }, READ_EVERY_MS);
  return once(stream, 'end').then(() => clearInterval(reader));
}

function startSlowlyRead(env: Record<string, string>): SlowRun {
  const process_ = spawn(process.execPath, [DAEMON_MAIN], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child = process_;
  const chunks: string[] = [];
  const exit = once(process_, 'exit').then(([code]) => code as number | null);
  const read = readSlowly(process_.stdout, chunks);
  return {
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map(parseLine),
    ended: Promise.all([exit, read]).then(([code]) => code),
  };
}

/**
 * The line saying the last state was sent: just before a completed single run ends, after the
 * run when a signal stopped it.
 */
const FINAL_PING = 'Pinged OpenCTI';

const CUT_LINE = '(a line cut short)';

function parseLine(line: string): { message: string } {
  try {
    return JSON.parse(line) as { message: string };
  } catch {
    return { message: CUT_LINE };
  }
}

const lastMessages = (run: SlowRun, count: number) =>
  run
    .lines()
    .slice(-count)
    .map((line) => line.message);

/** A first page for ip that holds only records with an unusable value. */
function pageOfSkips(next: string | null): Fault {
  const objects = Array.from({ length: SKIPPED_RECORDS }, (_, i) =>
    intelRecord(FIRST_UPDATE_ID + i, { value: `not-an-address-${i}` }),
  );
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(pageBody(objects, next)),
  };
}

const firstIpPage = (next: string | null = null) =>
  faultOnRequests({ type: 'ip', from: 1, times: 1, fault: pageOfSkips(next) });

/** Every hook sees every request (each counts its own); the first answer wins. */
const either =
  (...hooks: CountingFault[]): FaultHook =>
  (request) =>
    hooks.map((hook) => hook(request)).find((answer) => answer !== undefined);

const skipLines = (run: SlowRun) =>
  run.lines().filter((line) => line.message === 'ThreatStream record skipped').length;

describe('every log line reaches a slow reader before the process exits', () => {
  it('at the normal end of a run-and-terminate import', async () => {
    world = await startWorld({ total: 100 });
    world.simulator.fault = firstIpPage();
    const run = startSlowlyRead({ ...world.env, ANOMALI_TYPES: 'ip' });

    expect(await run.ended).toBe(0);
    expect(skipLines(run)).toBe(SKIPPED_RECORDS);
    expect(lastMessages(run, 2)).toEqual([FINAL_PING, 'Run ended']);
  });

  it('on a fatal error', async () => {
    world = await startWorld({ total: 100 });
    const skips = firstIpPage();
    const refused = faultOnRequests({
      type: 'domain',
      from: 1,
      times: 1,
      fault: { status: 401, body: '{"message":"unauthorized"}' },
    });
    world.simulator.fault = either(skips, refused);
    const run = startSlowlyRead({ ...world.env, ANOMALI_TYPES: 'ip,domain' });

    expect(await run.ended).toBe(1);
    expect(skipLines(run)).toBe(SKIPPED_RECORDS);
    expect(lastMessages(run, 2)).toEqual([
      'Stopping: this error needs a configuration change',
      FINAL_PING,
    ]);
  });

  it('when stopped by SIGTERM', async () => {
    world = await startWorld({ total: 100 });
    const skips = firstIpPage(NEXT_LINK);
    // The next page never comes: the daemon is signalled while it waits for it.
    const hanging = faultOnRequests({ type: 'ip', from: 2, times: 1, fault: 'hang' });
    world.simulator.fault = either(skips, hanging);
    const run = startSlowlyRead({
      ...world.env,
      ANOMALI_TYPES: 'ip',
      CONNECTOR_RUN_AND_TERMINATE: 'false',
      CONNECTOR_DURATION_PERIOD: 'PT1H',
    });
    await waitUntil(() => hanging.served() === 1);
    child?.kill('SIGTERM');

    expect(await run.ended).toBe(0);
    expect(skipLines(run)).toBe(SKIPPED_RECORDS);
    expect(lastMessages(run, 2)).toEqual(['Run ended', FINAL_PING]);
  });
});
