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

/** The ids each lookup asked OpenCTI about. */
function lookedUp(w: ConnectorWorld): string[][] {
  return w.opencti.calls('IndicatorsHeld').map((call) => {
    const [filter] = (call.variables.filters as { filters: { values: string[] }[] }).filters;
    return filter!.values;
  });
}

it('asks OpenCTI about deactivations 500 at a time across pages and types, then moves every cursor to its end', async () => {
  world = await startWorld({ total: 6000 });
  const cold = await importRun(world);
  const deactivated = new Set<string>();
  // The simulator takes fewer than 1,000 updates in a row: one new record between each 900.
  for (let from = 0; from < 5400; from += 900) {
    for (const id of deactivate(world, from, 900, cold.sent.live)) deactivated.add(id);
    world.simulator.setTotal(world.simulator.total + 1);
  }
  const before = lookedUp(world).length;

  const { sent, summary } = await importRun(world, { ANOMALI_PAGE_SIZE: '100' });

  expect([...deactivated].filter((id) => !sent.revoked.has(id))).toEqual([]);
  const lookups = lookedUp(world).slice(before);
  const asked = lookups.reduce((sum, ids) => sum + ids.length, 0);
  expect(asked).toBe(sent.revoked.size + summary.skipped_by_reason.not_in_opencti!);
  // Pages hold 100 records: full lookups prove deactivations wait across pages; the one short
  // lookup comes at the end of the last type.
  expect(lookups.map((ids) => ids.length).slice(0, -1)).toEqual(
    Array.from({ length: lookups.length - 1 }, () => 500),
  );
  expect(lookups.length).toBe(Math.ceil(asked / 500));
  for (const type of TYPES.split(',')) {
    expect(storedCursor(world, type)).toBe(String(newestUpdateId(world, type)));
  }
}, 90_000);

it('never saves a cursor past a deactivation still waiting; the next run sends it', async () => {
  world = await startWorld({ total: TOTAL });
  const cold = await importRun(world);
  const deactivated = deactivate(world, 0, 900, cold.sent.live);
  const cursorBefore = storedCursor(world, 'domain');
  // The third domain page of the incremental run fails for good: the type ends with deactivations waiting.
  let domainPages = 0;
  world.simulator.fault = (request) =>
    request.query.type === 'domain' && ++domainPages === 3 ? { status: 400 } : undefined;

  const failed = await runConnector(world, { ANOMALI_TYPES: TYPES, ANOMALI_PAGE_SIZE: '50' });
  expect(failed.code).not.toBe(0);
  const first = delivered(await drainQueue(world.push.queue));
  world.opencti.importIndicators([...first.live, ...first.revoked]);
  const waitedFor = firstUnsentRevocation(world, 'domain', deactivated, first.revoked);
  expect(waitedFor).toBeDefined();
  expect(BigInt(storedCursor(world, 'domain'))).toBeLessThan(waitedFor!);
  expect(BigInt(storedCursor(world, 'domain'))).toBeGreaterThanOrEqual(BigInt(cursorBefore));

  world.simulator.fault = undefined;
  const second = await importRun(world, { ANOMALI_PAGE_SIZE: '50' });
  const revoked = new Set([...first.revoked, ...second.sent.revoked]);
  expect([...deactivated].filter((id) => !revoked.has(id))).toEqual([]);
}, 90_000);

function storedCursor(w: ConnectorWorld, type: string): string {
  const state = JSON.parse(w.opencti.state ?? '{}') as { cursors?: Record<string, string> };
  return state.cursors?.[type] ?? '0';
}

/** The smallest update_id of a `type` record among `expected` whose revocation was not sent. */
function firstUnsentRevocation(
  w: ConnectorWorld,
  type: string,
  expected: ReadonlySet<string>,
  sent: ReadonlySet<string>,
) {
  let first: bigint | undefined;
  for (let index = 0; index < TOTAL; index++) {
    const record = w.simulator.recordAt(index);
    const id = record.type === type ? indicatorIdOf(record) : undefined;
    if (id === undefined || !expected.has(id) || sent.has(id)) continue;
    const updateId = BigInt(record.update_id);
    if (first === undefined || updateId < first) first = updateId;
  }
  return first;
}

/** The greatest update_id among the simulator's records of `type`, as they are now. */
function newestUpdateId(w: ConnectorWorld, type: string): number {
  let newest = 0;
  for (let index = 0; index < w.simulator.total; index++) {
    const record = w.simulator.recordAt(index);
    if (record.type === type) newest = Math.max(newest, record.update_id);
  }
  return newest;
}
