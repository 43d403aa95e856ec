import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { secretsOf } from '../../src/config';
import { RunError } from '../../src/connector/run';
import { dryRun } from '../../src/dryrun/dry-run';
import { serializeError } from '../../src/log';
import { RESEND_WARNING } from '../../src/opencti/publisher';
import { captureLogs } from '../support/capture';
import {
  API_KEY,
  TOKEN,
  USERNAME,
  startWorld,
  type ConnectorWorld,
} from '../support/connector-env';
import { ensureBuilt, killStartedDaemons, startDaemon } from '../support/daemon-process';
import { storedCursors } from '../support/import-expectations';
import { startConnector, waitForLog } from '../support/in-process-daemon';
import { closeBrokerConnectionsOf, drainQueue } from '../support/rabbitmq';
import { faultOnRequests, type CountingFault } from '../support/threatstream-faults';
import { waitUntil } from '../support/wait';

/**
 * No credential may leave the process except towards its own service: not in a log line at
 * any level, a work message, a worker message, an HTTP endpoint or a dry-run file, and not
 * when a failing server echoes it back either. The values are distinctive so that a leak in
 * any encoding-free form is found.
 */

/** A wrong key configured in place of the right one is a secret all the same. */
const WRONG_API_KEY = 'ts-api-key-wrong-7d41c0e9b2';
/** The broker refuses it, so the publisher logs errors about the connection that used it. */
const WRONG_MQ_PASS = 'mq-pass-wrong-5e1b7c9d0a2f';
const SECRETS = [TOKEN, API_KEY, WRONG_API_KEY, WRONG_MQ_PASS];

let world: ConnectorWorld | undefined;
const temporaryDirectories: string[] = [];

beforeAll(() => ensureBuilt(), 120_000);

afterEach(async () => {
  await killStartedDaemons();
  await world?.close();
  world = undefined;
  for (const directory of temporaryDirectories.splice(0)) rmSync(directory, { recursive: true });
});

function leaks(...texts: string[]): string[] {
  const all = texts.join('\n');
  return SECRETS.filter((secret) => all.includes(secret));
}

/** A ThreatStream that echoes the credentials it received in its error bodies. */
const echoing = (status: number, key = API_KEY) => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: `rejected request with apikey ${USERNAME}:${key}` }),
});

/** Everything OpenCTI received: every call's variables (work messages included) and the works. */
const openCtiReceived = (w: ConnectorWorld) =>
  JSON.stringify({ calls: w.opencti.calls(), works: w.opencti.works });

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

async function endpoints(port: number): Promise<string> {
  const bodies = await Promise.all(
    ['/status', '/metrics', '/health'].map(async (p) => {
      const response = await fetch(`http://127.0.0.1:${port}${p}`);
      return `${p} ${response.status}\n${await response.text()}`;
    }),
  );
  return bodies.join('\n');
}

async function statusOf(port: number): Promise<{ last_error: string | null }> {
  const response = await fetch(`http://127.0.0.1:${port}/status`);
  return (await response.json()) as { last_error: string | null };
}

function filesUnder(directory: string): string {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .map((name) => path.join(directory, name))
    .filter((file) => statSync(file).isFile())
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
}

function temporaryDirectory(): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'threatstream-secrets-'));
  temporaryDirectories.push(directory);
  return directory;
}

/** Several faults at once: a 503 and a dropped connection for ip, a key-echoing 400 for domain. */
function failingThreatStream(w: ConnectorWorld): CountingFault[] {
  const faults = [
    faultOnRequests({ type: 'ip', from: 1, times: 1, fault: echoing(503) }),
    faultOnRequests({ type: 'ip', from: 3, times: 1, fault: 'reset' }),
    faultOnRequests({ type: 'domain', from: 2, times: 1, fault: echoing(400) }),
  ];
  w.simulator.fault = (request) => faults.map((f) => f(request)).find((r) => r !== undefined);
  return faults;
}

describe('credentials stay secret through failures', () => {
  it('in process: ThreatStream and OpenCTI errors echoing them, a broker cut, /status and /metrics', async () => {
    world = await startWorld({ total: 1500 });
    const w = world;
    const faults = failingThreatStream(w);
    w.opencti.failNext('WorkAddExpectations', {
      kind: 'http',
      status: 500,
      body: `<html>token ${TOKEN} refused</html>`,
    });
    const port = await freePort();
    const connector = startConnector(w, {
      CONNECTOR_RUN_AND_TERMINATE: 'false',
      CONNECTOR_DURATION_PERIOD: 'PT1H',
      CONNECTOR_EXPOSE_METRICS: 'true',
      CONNECTOR_METRICS_PORT: String(port),
      ANOMALI_TYPES: 'ip,domain',
      ANOMALI_PAGE_SIZE: '50',
    });
    // A page confirmed and its cursor stored: the publisher's connection is open.
    await waitUntil(() => Object.keys(storedCursors(w.opencti)).length > 0);
    expect(closeBrokerConnectionsOf(process.pid)).toBe(1);
    // The domain type fails on the echoed 400; the failed run then shows on /status.
    await waitUntil(async () => (await statusOf(port)).last_error !== null);
    const served = await endpoints(port);
    connector.stop();
    expect(await connector.done).toBe(0);

    expect(faults.map((f) => f.served())).toEqual([1, 1, 1]);
    expect(served).toContain('"last_error":"Run failed: domain: ThreatStream answered HTTP 400');
    const logs = connector.logs.text();
    expect(logs).toContain('[REDACTED]');
    const delivered = (await drainQueue(w.push.queue)).map((r) => r.raw.content.toString());
    expect(delivered.length).toBeGreaterThan(0);
    expect(leaks(logs, served, openCtiReceived(w), ...delivered)).toEqual([]);
  });

  it('in process: a broker that refuses the password, and ThreatStream refusing a wrong key', async () => {
    world = await startWorld({ total: 300 });
    const w = world;
    const refused = startConnector(w, { MQ_PASS: WRONG_MQ_PASS, ANOMALI_TYPES: 'ip' });
    const failure = await waitForLog(refused.logs, (e) => e.message === RESEND_WARNING);
    expect(JSON.stringify(failure)).toContain('ACCESS_REFUSED');
    refused.abort();
    expect(await refused.done).toBe(1);

    w.simulator.fault = (request) => (request.authorized ? undefined : echoing(401, WRONG_API_KEY));
    const rejected = startConnector(w, { ANOMALI_API_KEY: WRONG_API_KEY, ANOMALI_TYPES: 'ip' });
    expect(await rejected.done).toBe(1);
    expect(rejected.logs.text()).toContain('ThreatStream rejected the credentials');

    expect(leaks(refused.logs.text(), rejected.logs.text(), openCtiReceived(w))).toEqual([]);
  });

  it('in process: a dry run through ThreatStream errors writes no credential to its files', async () => {
    world = await startWorld({ total: 600 });
    const out = temporaryDirectory();
    failingThreatStream(world);
    const config = world.config({
      CONNECTOR_DRY_RUN: 'true',
      CONNECTOR_DRY_RUN_OUT: path.join(out, 'bundles'),
      CONNECTOR_DRY_RUN_STATE: path.join(out, 'state.json'),
      ANOMALI_TYPES: 'ip,domain',
      ANOMALI_PAGE_SIZE: '50',
    });
    const logs = captureLogs({ level: 'debug', secrets: secretsOf(config) });
    const signals = { stop: new AbortController().signal, abort: new AbortController().signal };

    // The ip type is written to files; the domain type fails on the echoed 400, and so the run.
    const error = await dryRun(config, logs.logger, signals).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunError);
    expect(readdirSync(path.join(out, 'bundles')).length).toBeGreaterThan(0);
    const thrown = JSON.stringify(serializeError(error));
    expect(thrown).toContain('ThreatStream answered HTTP 400');
    expect(leaks(logs.text(), thrown, filesUnder(out))).toEqual([]);
  });

  it('the built daemon: failures, a refused broker password, /status and /metrics, then signals', async () => {
    world = await startWorld({ total: 1500 });
    const w = world;
    failingThreatStream(w);
    const port = await freePort();
    const daemon = startDaemon({
      ...w.env,
      CONNECTOR_RUN_AND_TERMINATE: 'false',
      CONNECTOR_DURATION_PERIOD: 'PT1H',
      CONNECTOR_EXPOSE_METRICS: 'true',
      CONNECTOR_METRICS_PORT: String(port),
      MQ_PASS: WRONG_MQ_PASS,
      ANOMALI_TYPES: 'ip,domain',
      ANOMALI_PAGE_SIZE: '50',
    });
    await daemon.waitForLog((e) => JSON.stringify(e).includes('ACCESS_REFUSED'));
    await waitUntil(() => w.simulator.requests.count >= 3);
    const served = await endpoints(port);
    daemon.kill('SIGTERM');
    await daemon.waitForLog((e) => e.message.startsWith('Stopping'));
    daemon.kill('SIGINT');
    expect((await daemon.waitForExit()).code).toBe(1);

    expect(daemon.logs.some((e) => e.message === 'ThreatStream request failed; retrying')).toBe(
      true,
    );
    expect(leaks(daemon.output(), served, openCtiReceived(w))).toEqual([]);
  });

  it('the built daemon: ThreatStream refusing a wrong key that it echoes back', async () => {
    world = await startWorld({ total: 50 });
    const w = world;
    w.simulator.fault = (request) => (request.authorized ? undefined : echoing(401, WRONG_API_KEY));
    const daemon = startDaemon({ ...w.env, ANOMALI_API_KEY: WRONG_API_KEY });

    expect((await daemon.waitForExit()).code).toBe(1);
    expect(daemon.output()).toContain('ThreatStream rejected the credentials');
    expect(leaks(daemon.output(), openCtiReceived(w))).toEqual([]);
  });

  it('the built daemon: a dry run from the command line through ThreatStream errors', async () => {
    world = await startWorld({ total: 600 });
    failingThreatStream(world);
    const out = temporaryDirectory();
    const daemon = startDaemon(
      { ...world.env, ANOMALI_TYPES: 'ip,domain', ANOMALI_PAGE_SIZE: '50' },
      {
        args: [
          '--dry-run',
          '--out',
          path.join(out, 'bundles'),
          '--state',
          path.join(out, 'state.json'),
        ],
        cwd: out,
      },
    );

    expect((await daemon.waitForExit()).code).toBe(1);
    expect(daemon.logs.map((e) => e.message)).toContain('Run failed');
    expect(readdirSync(path.join(out, 'bundles')).length).toBeGreaterThan(0);
    expect(leaks(daemon.output(), filesUnder(out))).toEqual([]);
  });
});
