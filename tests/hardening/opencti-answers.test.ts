import { closeServer } from '../support/servers';
import { idleConnectorInfo } from '../support/opencti-fixtures';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MAX_ANSWER_BYTES, OpenCtiApi } from '../../src/opencti/api';
import { Heartbeat } from '../../src/opencti/heartbeat';
import { MAX_STATE_CHARS, parseState } from '../../src/opencti/state';
import { captureLogs } from '../support/capture';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { runConnector } from '../support/in-process-daemon';

/**
 * What OpenCTI answers is read within bounds, as ThreatStream's answers are: a compressed answer
 * that inflates without end is refused before it fills memory, and a stored state far larger or
 * deeper than any state the connector writes is refused unread and never printed whole.
 */

const MiB = 1024 * 1024;
/** A state of this size is what a careless script or a compromised platform could store. */
const HUGE_STATE_CHARS = 5 * MiB;
/** The longest log line any of this may cause; a summary, not the state. */
const MAX_LINE_CHARS = 2000;

let server: http.Server | undefined;
let world: ConnectorWorld | undefined;

afterEach(async () => {
  await closeServer(server);
  server = undefined;
  await world?.close();
  world = undefined;
});

/**
 * About 1 MB on the wire that inflates to 1 GiB: gzip members of 1 MiB of zeros, one after the
 * other, which a gzip reader inflates as one stream.
 */
function gzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(MiB));
  return Buffer.concat(Array.from({ length: 1024 }, () => member));
}

async function serveGzipBomb(): Promise<string> {
  const bomb = gzipBomb();
  server = http.createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    response.end(bomb);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Runs `work` while sampling the resident set size; resolves with its result and the peak growth. */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 2);
  try {
    const result = await work();
    return { result, growth: Math.max(peak, process.memoryUsage.rss()) - before };
  } finally {
    clearInterval(sampler);
  }
}

const longestLine = (text: string) => Math.max(...text.split('\n').map((line) => line.length));

describe('OpenCTI answers read within bounds', () => {
  it('refuses a 1 MB gzip answer that inflates to 1 GiB, with a clear error and bounded memory', async () => {
    const url = await serveGzipBomb();
    const api = new OpenCtiApi({
      url,
      token: 'token-0123',
      sslVerify: true,
      logger: captureLogs().logger,
    });

    const { result: error, growth } = await peakRssGrowth(() =>
      api.healthCheck().catch((e: unknown) => e),
    );
    expect(String(error)).toContain(
      `OpenCTI HealthCheck: answer refused: larger than the ${MAX_ANSWER_BYTES}-byte limit`,
    );
    expect(growth).toBeLessThan(150 * MiB);
  });
});

describe('a remote state far from what the connector writes', () => {
  const cursors = '{"cursors":{"ip":"100"}';

  it('is refused before parsing when larger than the limit, or nested deeper than a state is', () => {
    const padded = `${cursors},"padding":"${'x'.repeat(MAX_STATE_CHARS)}"}`;
    expect(parseState(padded)).toEqual({
      ok: false,
      problem: `the stored state is larger than ${MAX_STATE_CHARS} characters`,
    });
    const deep = `${cursors},"nested":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    expect(parseState(deep)).toEqual({
      ok: false,
      problem: 'the stored state is nested deeper than 4 levels',
    });
    // Brackets inside strings are text, not nesting.
    expect(parseState(`${cursors},"note":"[[[[[[{{{{{{\\"]]"}`)).toEqual({
      ok: true,
      state: { cursors: { ip: '100' } },
    });
  });

  it('is described without quoting the keys it holds, which are the platform text', () => {
    const parsed = parseState('{"cursors":{"ip":"1","secret-looking-key":"2"}}');
    expect(parsed).toMatchObject({ ok: false });
    expect(JSON.stringify(parsed)).not.toContain('secret-looking-key');
  });

  it('answered by every ping shows in the heartbeat log as a short summary', async () => {
    const huge = `{"cursors":{"ip":"1"},"padding":"${'x'.repeat(HUGE_STATE_CHARS)}"}`;
    const logs = captureLogs({ level: 'debug' });
    const heartbeat = new Heartbeat({
      api: { pingConnector: () => Promise.resolve({ connectorState: huge }) },
      connectorId: 'c',
      logger: logs.logger,
      intervalMs: 60_000,
      initialState: { cursors: { ip: '5' } },
      remoteHasState: true,
      info: idleConnectorInfo(),
    });
    await heartbeat.ping();
    await heartbeat.ping();

    const summaries = logs
      .entries()
      .filter((e) => e.message === 'OpenCTI answered an older state; keeping ours');
    expect(summaries).toHaveLength(2);
    expect(summaries[0]!.remote).toEqual({
      chars: huge.length,
      problem: `the stored state is larger than ${MAX_STATE_CHARS} characters`,
    });
    expect(longestLine(logs.text())).toBeLessThan(MAX_LINE_CHARS);
  });

  it('stored at registration: the daemon starts cold with a short warning and replaces it', async () => {
    const huge = `{"cursors":{"ip":"1"},"padding":"${'x'.repeat(HUGE_STATE_CHARS)}"}`;
    world = await startWorld({ total: 200, storedState: huge });

    const { code, logs } = await runConnector(world, { ANOMALI_TYPES: 'ip' });
    expect(code).toBe(0);
    expect(logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'Ignoring the stored connector state; every IOC type starts cold',
        problem: `the stored state is larger than ${MAX_STATE_CHARS} characters`,
      }),
    );
    expect(longestLine(logs.text())).toBeLessThan(MAX_LINE_CHARS);
    expect(world.opencti.state).toMatch(/^\{"cursors":\{"ip":"\d+"\}\}$/);
  });
});
