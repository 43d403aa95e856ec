import { afterEach, describe, expect, it } from '@jest/globals';
import type { IocType } from '../../src/ioc-types';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { expectedIds } from '../support/import-expectations';
import { startConnector } from '../support/in-process-daemon';
import { drainQueue, type ReceivedMessage } from '../support/rabbitmq';
import { sleep, waitUntil } from '../support/wait';
import { declarePushQueue, deleteQueue } from '../../stand-ins/rabbitmq/broker';

/**
 * A platform that caps the connector's push queue (`x-max-length` with `x-overflow:
 * reject-publish`): once the queue is full, RabbitMQ nacks every publish beyond the cap, and a
 * batch that overflows is acked up to the cap and nacked after it.
 */

let world: ConnectorWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

const QUEUE_CAP = 300;

function bufferingInPings(w: ConnectorWorld): boolean[] {
  return w.opencti
    .calls('PingConnector')
    .map((call) => (call.variables.connectorInfo as { buffering: boolean }).buffering);
}

function indicatorIds(received: readonly ReceivedMessage[]): string[] {
  return received
    .map((r) => r.bundle.objects[0])
    .filter((object) => object.type === 'indicator')
    .map((object) => object.id);
}

describe('an import into a push queue that refuses what goes beyond its cap', () => {
  it('buffers while the queue is full and delivers every message once after workers drain it', async () => {
    const total = 3000;
    const types: IocType[] = ['ip', 'domain'];
    world = await startWorld({ total });
    const w = world;
    // The same queue, name and binding, now capped.
    await deleteQueue(w.push.queue);
    await declarePushQueue(w.connectorId, { maxLength: QUEUE_CAP });
    const connector = startConnector(w, {
      ANOMALI_TYPES: types.join(','),
      ANOMALI_PAGE_SIZE: '100',
    });
    let running = true;
    void connector.done.finally(() => (running = false));

    // No worker consumes until the connector reports that it buffers.
    await waitUntil(() => bufferingInPings(w).includes(true) || !running, 60_000);
    expect(running).toBe(true);
    const received: ReceivedMessage[] = [];
    while (running) {
      received.push(...(await drainQueue(w.push.queue)));
      await sleep(50);
    }
    expect(await connector.done).toBe(0);
    received.push(...(await drainQueue(w.push.queue)));

    const ids = indicatorIds(received);
    expect(new Set(ids)).toEqual(expectedIds(total, types));
    expect(ids).toHaveLength(new Set(ids).size);
    const expectations = w.opencti.works.reduce((sum, work) => sum + work.expectations, 0);
    expect(expectations).toBe(received.length);
    expect(received.length).toBeGreaterThan(QUEUE_CAP);
    expect(bufferingInPings(w).at(-1)).toBe(false);
    expect(connector.logs.text()).toContain('the push queue is full');
  }, 120_000);
});
