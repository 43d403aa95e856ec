import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { RunSummary } from '../../src/connector/summary';
import { Metrics } from '../../src/observability/metrics';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { startConnector } from '../support/in-process-daemon';
import { drainQueue } from '../support/rabbitmq';
import { waitUntil } from '../support/wait';

/** The metrics the Grafana dashboard needs beyond pycti's: run durations, threshold, cursor age. */

let world: ConnectorWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** The value of one sample line of the exposition text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('Metrics', () => {
  it('times each run from start to end, by outcome', async () => {
    let now = new Date('2026-03-01T10:00:00Z');
    const metrics = new Metrics(() => now);
    const completed = new RunSummary(now).end(now, 'completed');
    metrics.runStarted();
    now = new Date('2026-03-01T10:01:30Z');
    metrics.runEnded({ summary: completed, nextRunAt: null });
    metrics.runStarted();
    now = new Date('2026-03-01T10:01:35Z');
    metrics.runEnded({ error: new Error('ThreatStream down'), nextRunAt: null });
    // No run started since: nothing to time.
    metrics.runEnded({ error: new Error('again'), nextRunAt: null });

    const text = await metrics.registry.metrics();
    expect(sample(text, 'run_duration_seconds_sum{outcome="completed"}')).toBe(90);
    expect(sample(text, 'run_duration_seconds_count{outcome="completed"}')).toBe(1);
    expect(sample(text, 'run_duration_seconds_sum{outcome="failed"}')).toBe(5);
    expect(sample(text, 'run_duration_seconds_count{outcome="failed"}')).toBe(1);
  });

  it('stamps the delivery time of the last page of each type, for the age of its cursor', async () => {
    let now = new Date('2026-03-01T10:00:00Z');
    const metrics = new Metrics(() => now);
    metrics.pageSaved('ip', '100');
    now = new Date('2026-03-01T10:00:42Z');
    metrics.pageSaved('domain', '200');

    const text = await metrics.registry.metrics();
    const seconds = (iso: string) => new Date(iso).getTime() / 1000;
    expect(sample(text, 'threatstream_last_page_timestamp_seconds{type="ip"}')).toBe(
      seconds('2026-03-01T10:00:00Z'),
    );
    expect(sample(text, 'threatstream_last_page_timestamp_seconds{type="domain"}')).toBe(
      seconds('2026-03-01T10:00:42Z'),
    );
    expect(sample(text, 'threatstream_cursor{type="domain"}')).toBe(200);
  });
});

describe('the daemon feeds them', () => {
  it('serves the queue threshold, the run just ended and the time of its last page', async () => {
    world = await startWorld({ total: 200 });
    const port = await freePort();
    const before = Date.now() / 1000;
    const connector = startConnector(world, {
      CONNECTOR_RUN_AND_TERMINATE: 'false',
      CONNECTOR_DURATION_PERIOD: 'PT1H',
      CONNECTOR_EXPOSE_METRICS: 'true',
      CONNECTOR_METRICS_PORT: String(port),
      CONNECTOR_QUEUE_THRESHOLD: '250',
      ANOMALI_TYPES: 'ip',
    });
    // The run has ended once /metrics counts it; until then it may not even be listening.
    let text = '';
    await waitUntil(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
      text = (await response?.text()) ?? '';
      return sample(text, 'run_duration_seconds_count{outcome="completed"}') !== undefined;
    });
    connector.stop();
    expect(await connector.done).toBe(0);
    await drainQueue(world.push.queue);

    expect(sample(text, 'opencti_queue_threshold_megabytes')).toBe(250);
    expect(sample(text, 'run_duration_seconds_count{outcome="completed"}')).toBe(1);
    const lastPage = sample(text, 'threatstream_last_page_timestamp_seconds{type="ip"}');
    expect(lastPage).toBeGreaterThanOrEqual(Math.floor(before));
    expect(lastPage).toBeLessThanOrEqual(Date.now() / 1000);
  });
});
