import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { runDaemon } from '../../src/daemon';
import type { Indicator } from '../../src/stix/types';
import { captureLogs } from '../support/capture';
import {
  API_KEY,
  CONNECTOR_USER,
  TOKEN,
  expectedIndicatorIds,
  lastUpdateId,
  startWorld,
  type ConnectorWorld,
} from '../support/connector-env';
import { holdCall } from '../support/held-calls';
import { closeBrokerConnectionsOf, drainQueue, type ReceivedMessage } from '../support/rabbitmq';
import { waitUntil } from '../support/wait';

const ALL_TYPES = ['ip', 'ipv6', 'domain', 'url', 'email', 'hash', 'string'] as const;

let world: ConnectorWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function signals() {
  return { stop: new AbortController(), abort: new AbortController() };
}

async function runConnector(w: ConnectorWorld, overrides: Record<string, string> = {}) {
  const secrets = [TOKEN, API_KEY];
  const logs = captureLogs({ secrets });
  const s = signals();
  const code = await runDaemon(
    w.config(overrides),
    logs.logger,
    { stop: s.stop.signal, abort: s.abort.signal },
    secrets,
  );
  return { code, logs, secrets };
}

const indicatorIds = (received: ReceivedMessage[]) =>
  new Set(
    received
      .map((r) => r.bundle.objects[0])
      .filter((o) => o.type === 'indicator')
      .map((o) => o.id),
  );

describe('the connector daemon against OpenCTI, RabbitMQ and ThreatStream stand-ins', () => {
  it('imports every IOC of a cold start in worker messages and stores one cursor per type', async () => {
    world = await startWorld({ total: 3000 });
    const { code, logs, secrets } = await runConnector(world);
    expect(code).toBe(0);
    // The broker password OpenCTI handed out joins the values kept out of every log line.
    expect(secrets).toContain('guest');

    const received = await drainQueue(world.push.queue);
    expect(indicatorIds(received)).toEqual(expectedIndicatorIds(3000, ALL_TYPES, true));
    const work = world.opencti.works[0]!;
    expect(world.opencti.works).toHaveLength(1);
    for (const { message, raw } of received) {
      expect(message).toMatchObject({
        bundle_type: 'QUEUE_BUNDLE',
        applicant_id: CONNECTOR_USER,
        work_id: work.id,
        update: false,
        draft_id: null,
      });
      expect(raw.properties.deliveryMode).toBe(2);
    }
    // Expectations cover every message, added before publishing; the work is closed with a summary.
    expect(work.expectations).toBe(received.length);
    expect(work.processed?.inError).toBe(false);
    expect(work.processed?.message).toMatch(
      /^Fetched \d+ ThreatStream IOCs; imported \d+ indicators/,
    );

    const state = JSON.parse(world.opencti.state!) as { cursors: Record<string, string> };
    for (const type of ALL_TYPES) expect(state.cursors[type]).toBe(lastUpdateId(3000, type, true));
    expect(world.opencti.takeViolations()).toEqual([]);
    expect(logs.text()).not.toContain(TOKEN);
    expect(logs.text()).not.toContain(API_KEY);
  });

  it('pings the new state right after each page is confirmed', async () => {
    world = await startWorld({ total: 2500 });
    await runConnector(world, { ANOMALI_TYPES: 'domain', ANOMALI_PAGE_SIZE: '100' });
    const calls = world.opencti.calls().map((c) => c.operationName);
    const pings = world.opencti.calls('PingConnector').map((c) => c.variables.state as string);
    const cursors = pings
      .filter((s) => s !== 'null')
      .map((s) => (JSON.parse(s) as { cursors: { domain: string } }).cursors.domain);
    expect(cursors.length).toBeGreaterThanOrEqual(3);
    expect([...cursors].sort((a, b) => Number(a) - Number(b))).toEqual(cursors);
    // Between two pages' expectations there is always a ping carrying the cursor of the first.
    const firstExpectation = calls.indexOf('WorkAddExpectations');
    expect(calls.slice(firstExpectation).join(' ')).toMatch(
      /WorkAddExpectations (WorkAddExpectations )*PingConnector/,
    );
  });

  it('resumes from the stored state and imports only what changed since', async () => {
    world = await startWorld({ total: 1000 });
    await runConnector(world, { ANOMALI_TYPES: 'ip,url' });
    const imported = indicatorIds(await drainQueue(world.push.queue));
    world.opencti.importIndicators(imported);
    world.simulator.setTotal(1400);
    const { code } = await runConnector(world, { ANOMALI_TYPES: 'ip,url' });
    expect(code).toBe(0);
    const cursors = { ip: lastUpdateId(1000, 'ip', true)!, url: lastUpdateId(1000, 'url', true)! };
    const live = expectedIndicatorIds(1400, ['ip', 'url'], true, cursors);
    // Deactivations come back only for indicators OpenCTI holds.
    const changed = [...expectedIndicatorIds(1400, ['ip', 'url'], false, cursors)];
    const revoked = changed.filter((id) => !live.has(id) && imported.has(id as Indicator['id']));
    expect(live.size).toBeGreaterThan(50);
    expect(indicatorIds(await drainQueue(world.push.queue))).toEqual(
      new Set([...live, ...revoked]),
    );
  });

  it('starts over after a reset in the OpenCTI UI', async () => {
    world = await startWorld({ total: 800 });
    await runConnector(world, { ANOMALI_TYPES: 'domain' });
    const firstRun = indicatorIds(await drainQueue(world.push.queue));
    world.opencti.resetState();
    // The next daemon registers, pings, sees the empty state and re-imports from the cold-start bound.
    await runConnector(world, { ANOMALI_TYPES: 'domain' });
    expect(indicatorIds(await drainQueue(world.push.queue))).toEqual(firstRun);
  });

  it('re-imports everything on the run after a reset made while the daemon runs', async () => {
    world = await startWorld({ total: 500 });
    const logs = captureLogs();
    const s = signals();
    const config = world.config({
      ANOMALI_TYPES: 'domain',
      CONNECTOR_RUN_AND_TERMINATE: 'false',
      CONNECTOR_DURATION_PERIOD: 'PT1S',
    });
    const daemon = runDaemon(
      config,
      logs.logger,
      { stop: s.stop.signal, abort: s.abort.signal },
      [],
    );
    const w = world;
    const waitForWorks = async (n: number) => {
      while (w.opencti.works.filter((x) => x.processed !== null).length < n)
        await new Promise((r) => setTimeout(r, 50));
    };
    await waitForWorks(1);
    const firstRun = indicatorIds(await drainQueue(w.push.queue));
    expect(firstRun.size).toBeGreaterThan(0);
    await waitForWorks(2); // nothing changed: the second run sends nothing
    expect(await drainQueue(w.push.queue)).toEqual([]);
    w.opencti.resetState();
    const works = w.opencti.works.length;
    await waitForWorks(works + 1);
    s.stop.abort();
    expect(await daemon).toBe(0);
    expect(indicatorIds(await drainQueue(w.push.queue))).toEqual(firstRun);
    expect(logs.text()).toContain('Connector state was reset in OpenCTI');
    expect(JSON.parse(w.opencti.state!)).toEqual({
      cursors: { domain: lastUpdateId(500, 'domain', true) },
    });
  });

  it('revokes what ThreatStream deactivated', async () => {
    world = await startWorld({ total: 300 });
    await runConnector(world, { ANOMALI_TYPES: 'domain' });
    world.opencti.importIndicators(indicatorIds(await drainQueue(world.push.queue)));
    let index = 0;
    while (
      world.simulator.recordAt(index).type !== 'domain' ||
      world.simulator.recordAt(index).status !== 'active'
    )
      index++;
    const record = world.simulator.recordAt(index);
    world.simulator.mutate(index, { status: 'falsepos' });
    await runConnector(world, { ANOMALI_TYPES: 'domain' });
    const indicators = (await drainQueue(world.push.queue))
      .map((r) => r.bundle.objects[0])
      .filter((o): o is Indicator => o.type === 'indicator');
    // Only the changed record comes back, now revoked.
    expect(indicators).toHaveLength(1);
    expect(indicators[0]).toMatchObject({
      name: record.value,
      revoked: true,
      x_opencti_detection: false,
    });
  });

  it('waits while the OpenCTI queue is over the threshold, without calling ThreatStream', async () => {
    world = await startWorld({ total: 200 });
    const w = world;
    w.opencti.setQueueSize(600 * 1_000_000);
    const requestsBefore = w.simulator.requests.count;
    const running = runConnector(w, {
      ANOMALI_TYPES: 'domain',
      CONNECTOR_QUEUE_CHECK_INTERVAL: '1',
    });
    // Asked again after a wait, and still holding back.
    await waitUntil(() => w.opencti.calls('ConnectorQueueDetails').length >= 2);
    expect(w.simulator.requests.count).toBe(requestsBefore);
    w.opencti.setQueueSize(0);
    const { code } = await running;
    expect(code).toBe(0);
    const infos = w.opencti
      .calls('PingConnector')
      .map((c) => (c.variables.connectorInfo as { buffering: boolean }).buffering);
    expect(infos).toContain(true);
    expect(indicatorIds(await drainQueue(w.push.queue)).size).toBeGreaterThan(0);
  });

  it('imports without back-pressure when OpenCTI denies the queue-size query, and says so once', async () => {
    world = await startWorld({ total: 300 });
    world.opencti.denyQueueDetails(true);
    const { code, logs } = await runConnector(world, { ANOMALI_TYPES: 'ip,domain' });
    expect(code).toBe(0);
    expect(
      logs
        .entries()
        .filter((e) => String(e.message).startsWith('Cannot read the connector queue size')),
    ).toHaveLength(1);
    expect(indicatorIds(await drainQueue(world.push.queue)).size).toBeGreaterThan(0);
  });

  it('loses nothing when RabbitMQ drops every connection mid-run', async () => {
    world = await startWorld({ total: 6000 });
    const w = world;
    // The third batch waits at OpenCTI (its expectations) while the connections are cut.
    const third = holdCall(w.opencti, 'WorkAddExpectations', 3);
    const running = runConnector(w, { ANOMALI_PAGE_SIZE: '200' });
    await waitUntil(third.reached);
    expect(closeBrokerConnectionsOf()).toBeGreaterThan(0);
    third.release();
    const { code } = await running;
    expect(code).toBe(0);
    expect(indicatorIds(await drainQueue(w.push.queue))).toEqual(
      expectedIndicatorIds(6000, ALL_TYPES, true),
    );
  });

  it('exits 1 with a clear message when ThreatStream rejects the credentials', async () => {
    world = await startWorld({ total: 10 });
    const { code, logs } = await runConnector(world, { ANOMALI_API_KEY: 'wrong-key-000000' });
    expect(code).toBe(1);
    expect(logs.text()).toContain('ThreatStream rejected the credentials');
    expect(logs.text()).not.toContain('wrong-key-000000');
    expect(world.opencti.works[0]?.processed?.inError).toBe(true);
  });

  it('exits 1 without retrying forever when OpenCTI rejects the token', async () => {
    world = await startWorld({ total: 10 });
    const { code, logs } = await runConnector(world, { OPENCTI_TOKEN: 'not-the-token' });
    expect(code).toBe(1);
    expect(logs.text()).toContain('OpenCTI rejected the token');
  });

  it('answers the healthcheck while it waits for OpenCTI, and stops cleanly on a signal', async () => {
    world = await startWorld({ total: 10 });
    const port = await freePort();
    const logs = captureLogs();
    const s = signals();
    const config = world.config({
      OPENCTI_URL: `http://127.0.0.1:${await freePort()}`,
      CONNECTOR_EXPOSE_METRICS: 'true',
      CONNECTOR_METRICS_PORT: String(port),
    });
    const daemon = runDaemon(
      config,
      logs.logger,
      { stop: s.stop.signal, abort: s.abort.signal },
      [],
    );
    // Until the first attempt has failed, /health is not listening yet or answers 200.
    let health: Response | undefined;
    await waitUntil(async () => {
      health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      return health?.status === 503;
    });
    expect(await health!.json()).toEqual({
      ok: false,
      reason: 'OpenCTI was unreachable at the last attempt',
    });
    expect(logs.text()).toContain('OpenCTI is not reachable yet');
    s.stop.abort();
    expect(await daemon).toBe(0);
  });

  it('sends whole bundles through stixBundlePush in api mode', async () => {
    world = await startWorld({ total: 600 });
    const { code } = await runConnector(world, {
      CONNECTOR_QUEUE_PROTOCOL: 'api',
      ANOMALI_TYPES: 'domain',
    });
    expect(code).toBe(0);
    const pushed = world.opencti.bundles.flatMap(
      (b) => (JSON.parse(b.bundle) as { objects: { type: string; id: string }[] }).objects,
    );
    expect(new Set(pushed.filter((o) => o.type === 'indicator').map((o) => o.id))).toEqual(
      expectedIndicatorIds(600, ['domain'], true),
    );
    expect(await drainQueue(world.push.queue)).toEqual([]);
  });
});
