import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { RunSummary } from '../../src/connector/summary';
import { silentLogger } from '../../src/log';
import { Metrics } from '../../src/observability/metrics';
import { startObservabilityServer } from '../../src/observability/server';
import { ConnectorStatus } from '../../src/observability/status';
import { authorIdentity } from '../../src/stix/author';

const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

async function serve(status: ConnectorStatus, metrics = new Metrics(), secrets: string[] = []) {
  const server = await startObservabilityServer({
    port: 0,
    host: '127.0.0.1',
    registry: metrics.registry,
    status,
    secrets,
    logger: silentLogger(),
  });
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return (path: string, method = 'GET') => fetch(`http://127.0.0.1:${port}${path}`, { method });
}

describe('metrics and health endpoints', () => {
  it('is healthy before any run and while OpenCTI answers pings', async () => {
    const status = new ConnectorStatus();
    const get = await serve(status);
    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, reason: 'no run finished yet' });
    status.openCtiReachable = false;
    const down = await get('/health');
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({
      ok: false,
      reason: 'OpenCTI was unreachable at the last attempt',
    });
  });

  it('reports a failed last run as unhealthy with its reason, without secrets', async () => {
    const status = Object.assign(new ConnectorStatus(), { cursors: () => ({ ip: '42' }) });
    status.lastError = 'ThreatStream rejected the credentials for key s3cret-api-key';
    const get = await serve(status, new Metrics(), ['s3cret-api-key']);
    const health = await get('/health');
    expect(health.status).toBe(503);
    const text = await health.text();
    expect(text).toContain('last run failed: ThreatStream rejected the credentials');
    expect(text).not.toContain('s3cret-api-key');
    const snapshot = (await (await get('/status')).json()) as Record<string, unknown>;
    expect(snapshot).toMatchObject({
      cursors: { ip: '42' },
      running: false,
      buffering: false,
      next_run_at: null,
    });
    expect(JSON.stringify(snapshot)).not.toContain('s3cret-api-key');
  });

  it('serves the last run, cursors and next run time on /status', async () => {
    const status = Object.assign(new ConnectorStatus(), { cursors: () => ({ domain: '900' }) });
    const summary = new RunSummary(new Date('2026-01-01T00:00:00Z'));
    summary.fetched('domain', 3);
    summary.end(new Date('2026-01-01T00:00:05Z'), 'completed');
    status.lastRun = summary.toJSON();
    status.nextRunAt = new Date('2026-01-01T01:00:05Z');
    const get = await serve(status);
    expect(await (await get('/status')).json()).toMatchObject({
      health: { ok: true, reason: 'last run completed' },
      cursors: { domain: '900' },
      last_run: { outcome: 'completed', fetched: 3, duration_s: 5 },
      next_run_at: '2026-01-01T01:00:05.000Z',
    });
  });

  it("exposes pycti's metric names and the import's own counters", async () => {
    const metrics = new Metrics();
    metrics.runs.inc();
    metrics.fetched('ip', 10);
    metrics.skipped('ip', 'invalid_value');
    const author = authorIdentity('Anomali ThreatStream');
    metrics.delivered('ip', [author], 1);
    metrics.pageSaved('ip', '12345');
    metrics.request({ durationMs: 250, status: 429, attempt: 1, retried: true });
    const get = await serve(new ConnectorStatus(), metrics);
    const response = await get('/metrics');
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    for (const name of [
      'bundles_sent_total',
      'records_sent_total',
      'runs_total',
      'ping_api_total',
      'ping_api_errors_total',
      'errors_total',
      'client_errors_total',
    ]) {
      expect(text).toMatch(new RegExp(`^${name} \\d+`, 'm'));
    }
    expect(text).toContain('state{state="idle"} 1');
    expect(text).toContain('threatstream_iocs_fetched_total{type="ip"} 10');
    expect(text).toContain('threatstream_iocs_skipped_total{type="ip",reason="invalid_value"} 1');
    expect(text).toContain('threatstream_cursor{type="ip"} 12345');
    expect(text).toContain('threatstream_request_retries_total 1');
    expect(text).toContain('client_errors_total 1');
    expect(text).toMatch(/threatstream_request_duration_seconds_count\{status="429"\} 1/);
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    const get = await serve(new ConnectorStatus());
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/health', 'POST')).status).toBe(405);
  });
});
