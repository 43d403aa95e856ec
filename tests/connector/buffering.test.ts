import { describe, expect, it } from '@jest/globals';
import { PingInfo } from '../../src/connector/ping-info';
import type { ConnectorInfo } from '../../src/opencti/api';
import { Metrics } from '../../src/observability/metrics';
import { ConnectorStatus } from '../../src/observability/status';

function pingInfo(): { info: ConnectorInfo; pings: boolean[]; observer: PingInfo } {
  const info: ConnectorInfo = {
    run_and_terminate: false,
    buffering: false,
    queue_threshold: 500,
    queue_messages_size: 0,
    next_run_datetime: null,
    last_run_datetime: null,
  };
  const pings: boolean[] = [];
  return { info, pings, observer: new PingInfo(info, () => pings.push(info.buffering)) };
}

async function metricValue(metrics: Metrics, name: string): Promise<number | undefined> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values[0]?.value;
}

describe('buffering while RabbitMQ refuses publishes', () => {
  it('pings at once when the broker refuses, and again once it accepts', () => {
    const { info, pings, observer } = pingInfo();
    observer.pushRefused();
    expect(pings).toEqual([true]);
    observer.pushRefused();
    observer.pushAccepting();
    expect(pings).toEqual([true, false]);
    expect(info.buffering).toBe(false);
  });

  it('keeps buffering while either the threshold or the broker holds the import back', () => {
    const { info, pings, observer } = pingInfo();
    observer.pushRefused();
    observer.queueChecked(12, false); // measured between batches, below the threshold
    expect(info).toMatchObject({ buffering: true, queue_messages_size: 12 });
    observer.queueChecked(600, true);
    observer.pushAccepting();
    expect(info.buffering).toBe(true);
    observer.queueChecked(3, false);
    expect(pings).toEqual([true, false]);
  });

  it('shows on /status', () => {
    const status = new ConnectorStatus();
    status.pushRefused();
    status.queueChecked(1, false);
    expect(status.snapshot()).toMatchObject({ buffering: true, queue_size_mb: 1 });
    status.pushAccepting();
    expect(status.snapshot().buffering).toBe(false);
  });

  it('counts the refused messages and sets the buffering gauge', async () => {
    const metrics = new Metrics();
    metrics.pushRefused(7);
    metrics.pushRefused(3);
    expect(await metricValue(metrics, 'opencti_queue_publish_rejections_total')).toBe(10);
    expect(await metricValue(metrics, 'opencti_queue_buffering')).toBe(1);
    metrics.pushAccepting();
    expect(await metricValue(metrics, 'opencti_queue_buffering')).toBe(0);
  });
});
