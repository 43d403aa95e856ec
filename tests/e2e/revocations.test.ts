import { afterEach, expect, it } from '@jest/globals';
import { convertRecord } from '../../src/stix/convert';
import { parseRecords } from '../../src/threatstream/schema';
import { CONVERT_OPTIONS, startWorld, type ConnectorWorld } from '../support/connector-env';
import { runConnector } from '../support/in-process-daemon';
import { drainQueue, type ReceivedMessage } from '../support/rabbitmq';

/**
 * ThreatStream's deactivations against what OpenCTI holds: the stand-in knows the indicators
 * its workers imported (what the test hands it after draining the queue), and answers the
 * connector's lookup from that alone.
 */

const TOTAL = 1200;
const TYPES = 'domain,url';

let world: ConnectorWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

interface Delivered {
  live: Set<string>;
  revoked: Set<string>;
}

function delivered(received: readonly ReceivedMessage[]): Delivered {
  const out: Delivered = { live: new Set(), revoked: new Set() };
  for (const { bundle } of received) {
    const object = bundle.objects[0];
    if (object.type === 'indicator') (object.revoked ? out.revoked : out.live).add(object.id);
  }
  return out;
}

/** The indicator id of a simulated record, converted as the connector converts it. */
function indicatorIdOf(raw: unknown): string | undefined {
  const [record] = parseRecords([raw]).records;
  const result = record && convertRecord(record, CONVERT_OPTIONS);
  return result?.ok ? result.indicator.id : undefined;
}

/** Runs the daemon once, drains what it sent, and lets the stand-in's workers import it. */
async function importRun(w: ConnectorWorld, env: Record<string, string> = {}) {
  const { code, logs } = await runConnector(w, { ANOMALI_TYPES: TYPES, ...env });
  expect(code).toBe(0);
  const sent = delivered(await drainQueue(w.push.queue));
  w.opencti.importIndicators([...sent.live, ...sent.revoked]);
  const ended = logs.entries().find((e) => e.message === 'Run ended')!;
  return {
    sent,
    logs,
    summary: ended as Record<string, unknown> & { skipped_by_reason: Record<string, number> },
  };
}

/** Deactivates `count` records from `from` on, returning the ids of those that were imported. */
function deactivate(w: ConnectorWorld, from: number, count: number, imported: ReadonlySet<string>) {
  const hit = new Set<string>();
  for (let index = from; index < from + count; index++) {
    const id = indicatorIdOf(w.simulator.mutate(index, { status: 'inactive' }));
    if (id !== undefined && imported.has(id)) hit.add(id);
  }
  return hit;
}

it('revokes every deactivated indicator OpenCTI holds and creates none it never had', async () => {
  world = await startWorld({ total: TOTAL });
  const cold = await importRun(world);
  const imported = new Set(cold.sent.live);
  expect(cold.sent.revoked.size).toBe(0);

  for (let round = 0; round < 3; round++) {
    // New records (some already inactive: never imported) and deactivations of imported ones.
    world.simulator.setTotal(TOTAL + 200 * (round + 1));
    const deactivated = deactivate(world, round * 40, 40, imported);
    const { sent, summary } = await importRun(world);

    expect([...sent.revoked].filter((id) => !imported.has(id))).toEqual([]);
    expect([...deactivated].filter((id) => !sent.revoked.has(id))).toEqual([]);
    expect(summary.skipped_by_reason.not_in_opencti).toBeGreaterThan(0);
    for (const id of sent.live) imported.add(id);
  }
  // One lookup per page holding deactivations: pages are 1000 records, so never more than that.
  const lookups = world.opencti.calls('IndicatorsHeld');
  expect(lookups.length).toBeGreaterThan(0);
  for (const call of lookups) {
    const [filter] = (call.variables.filters as { filters: { values: string[] }[] }).filters;
    expect(filter!.values.length).toBeLessThanOrEqual(500);
  }
  expect(world.opencti.takeViolations()).toEqual([]);
}, 60_000);

it('sends deactivations unverified, and counts them, when OpenCTI will not say what it holds', async () => {
  world = await startWorld({ total: TOTAL });
  const cold = await importRun(world);
  world.opencti.denyIndicators();
  world.simulator.setTotal(TOTAL + 100);
  const deactivated = deactivate(world, 0, 20, cold.sent.live);

  const { sent, summary, logs } = await importRun(world);

  expect([...deactivated].filter((id) => !sent.revoked.has(id))).toEqual([]);
  expect(summary.revoked_unverified).toBe(sent.revoked.size);
  expect(summary.skipped_by_reason.not_in_opencti).toBeUndefined();
  const warnings = logs.entries().filter((e) => String(e.message).includes('read indicators'));
  expect(warnings).toHaveLength(1);
}, 60_000);

it('sends a page unverified while the lookup fails, and verifies the next ones once it answers', async () => {
  world = await startWorld({ total: TOTAL });
  const cold = await importRun(world);
  world.simulator.setTotal(TOTAL + 100);
  const deactivated = deactivate(world, 0, 20, cold.sent.live);
  // Every attempt of the first lookup fails; the cursor still moves on only once the page is sent.
  world.opencti.failNext('IndicatorsHeld', { kind: 'http', status: 503 }, 3);

  const first = await importRun(world);
  expect([...deactivated].filter((id) => !first.sent.revoked.has(id))).toEqual([]);
  expect(first.summary.revoked_unverified).toBeGreaterThan(0);

  world.simulator.setTotal(TOTAL + 200);
  const again = deactivate(world, 40, 20, cold.sent.live);
  const second = await importRun(world);
  expect([...again].filter((id) => !second.sent.revoked.has(id))).toEqual([]);
  expect(second.summary.revoked_unverified).toBe(0);
  expect(second.summary.skipped_by_reason.not_in_opencti).toBeGreaterThan(0);
}, 60_000);
