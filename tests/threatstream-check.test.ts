import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ThreatStreamTransport } from '../src/threatstream/transport';
import { checkThreatStreamAccess, ThreatStreamAccessError } from '../src/threatstream-check';
import { startSimulator, type ThreatStreamSimulator } from '../stand-ins/threatstream/simulator';
import { captureLogs } from './support/capture';
import { API_KEY, USERNAME } from './support/connector-env';

let simulator: ThreatStreamSimulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

const never = new AbortController().signal;

async function startStandIn(status?: number) {
  simulator = await startSimulator({
    username: USERNAME,
    apiKey: API_KEY,
    total: 10,
    ...(status !== undefined && { fault: () => ({ status }) }),
  });
  return simulator.url;
}

/** A local port nobody listens on. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

function check(url: string, apiKey = API_KEY) {
  const logs = captureLogs();
  const transport = new ThreatStreamTransport({
    baseUrl: url,
    username: USERNAME,
    apiKey,
    sslVerify: true,
    timeoutMs: 10_000,
    maxResponseBytes: 1 << 20,
  });
  return { logs, result: checkThreatStreamAccess(transport, url, logs.logger, never) };
}

describe('ThreatStream start-up check', () => {
  it('passes with one request when the URL and credentials work', async () => {
    const { result } = check(await startStandIn());
    await expect(result).resolves.toBeUndefined();
    expect(simulator!.requests.count).toBe(1);
  });

  it.each([401, 403])('names the credentials to fix on HTTP %i', async (status) => {
    const { result } = check(await startStandIn(status));
    await expect(result).rejects.toThrow(ThreatStreamAccessError);
    await expect(result).rejects.toThrow(
      `ThreatStream rejected the credentials (HTTP ${status}): check ANOMALI_USERNAME and ANOMALI_API_KEY`,
    );
    expect(simulator!.requests.count).toBe(1);
  });

  it('names the URL to fix when nothing listens there', async () => {
    const url = await closedPortUrl();
    await expect(check(url).result).rejects.toThrow(
      `${url} refused the connection: fix ANOMALI_URL`,
    );
  });

  it('names the URL to fix when its host does not exist', async () => {
    // .invalid never resolves (RFC 2606).
    const { result } = check('http://threatstream.invalid');
    await expect(result).rejects.toThrow(ThreatStreamAccessError);
    await expect(result).rejects.toThrow(/fix ANOMALI_URL$/);
  });

  it('leaves a failure that may heal to the run, with a warning', async () => {
    const { logs, result } = check(await startStandIn(503));
    await expect(result).resolves.toBeUndefined();
    expect(logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'ThreatStream start-up check failed; the run will retry',
      }),
    );
  });
});
