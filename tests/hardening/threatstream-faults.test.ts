import { afterEach, describe, expect, it } from '@jest/globals';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { DecoyServer } from '../support/decoy-server';
import {
  expectedFinalCursors,
  expectedIds,
  idsThroughCursors,
  indicatorIdsOf,
  lastPageCursors,
  missing,
  storedCursors,
  union,
} from '../support/import-expectations';
import { runConnector } from '../support/in-process-daemon';
import { drainQueue } from '../support/rabbitmq';
import { faultOnRequests, type CountingFault, type Fault } from '../support/threatstream-faults';

/**
 * ThreatStream misbehaving in the middle of an import, against the whole in-process daemon:
 * either the run rides it out and delivers everything, or it fails with each cursor at its last
 * confirmed page and the next run completes the import. The client's own tests cover how each
 * single request is classified; these check what a user sees at the end: indicators and cursors.
 *
 * The daemon's retry backoff starts at one second and has no setting, so faults that it is
 * meant to ride out are injected once or twice, not until the retry budget is spent.
 */

const TOTAL = 1000;
const TYPES = ['ip', 'domain'] as const;
const IMPORT = { ANOMALI_TYPES: TYPES.join(','), ANOMALI_PAGE_SIZE: '30' };
const JSON_HEADERS = { 'content-type': 'application/json' };

let world: ConnectorWorld | undefined;
let decoy: DecoyServer | undefined;

afterEach(async () => {
  await world?.close();
  await decoy?.close();
  world = undefined;
  decoy = undefined;
});

/**
 * The fault on the domain requests numbered `from` onwards: by then every ip page and a few
 * domain pages are confirmed, so each type has a cursor to keep.
 */
const onDomainRequests = (from: number, times: number, fault: Fault) =>
  faultOnRequests({ type: 'domain', from, times, fault });

/** Runs once with the fault; the run must deliver everything and leave every cursor at its end. */
async function expectRunToRideItOut(
  w: ConnectorWorld,
  fault: CountingFault,
  overrides: Record<string, string> = {},
) {
  w.simulator.fault = fault;
  const run = await runConnector(w, { ...IMPORT, ...overrides });
  expect(run.code).toBe(0);
  expect(fault.served()).toBeGreaterThan(0);
  expect(indicatorIdsOf(await drainQueue(w.push.queue))).toEqual(expectedIds(TOTAL, TYPES));
  expect(storedCursors(w.opencti)).toEqual(expectedFinalCursors(TOTAL, TYPES));
  expect(w.opencti.works.map((work) => work.processed?.inError)).toEqual([false]);
  return run;
}

/**
 * Runs with the fault, which must fail the run with each cursor at its last confirmed page and
 * every indicator up to it delivered; then runs again without it, which must complete the import.
 */
async function expectNextRunToComplete(
  w: ConnectorWorld,
  fault: CountingFault,
  overrides: Record<string, string> = {},
) {
  w.simulator.fault = fault;
  const failed = await runConnector(w, { ...IMPORT, ...overrides });
  expect(failed.code).toBe(1);
  expect(fault.served()).toBeGreaterThan(0);
  const kept = storedCursors(w.opencti);
  expect(kept).toEqual(lastPageCursors(failed.logs.entries()));
  expect(kept.ip).toBe(expectedFinalCursors(TOTAL, ['ip']).ip);
  expect(kept.domain).toBeDefined();
  expect(kept.domain).not.toBe(expectedFinalCursors(TOTAL, ['domain']).domain);
  const firstDelivered = indicatorIdsOf(await drainQueue(w.push.queue));
  w.opencti.importIndicators(firstDelivered);
  expect(missing(idsThroughCursors(TOTAL, kept), firstDelivered)).toEqual([]);
  expect(w.opencti.works[0]?.processed).toEqual({
    message: expect.stringMatching(/^Run failed: /),
    inError: true,
  });

  w.simulator.fault = undefined;
  const completed = await runConnector(w, { ...IMPORT, ...overrides });
  expect(completed.code).toBe(0);
  const secondDelivered = indicatorIdsOf(await drainQueue(w.push.queue));
  expect(union(firstDelivered, secondDelivered)).toEqual(
    expectedIds(TOTAL, TYPES, kept, firstDelivered),
  );
  expect(storedCursors(w.opencti)).toEqual(expectedFinalCursors(TOTAL, TYPES, kept));
  return failed;
}

const retriesLogged = (entries: Record<string, unknown>[]) =>
  entries.filter((e) => e.message === 'ThreatStream request failed; retrying');

describe('an import while ThreatStream misbehaves', () => {
  it.each([
    ['HTTP 500', { status: 500, body: '<html><body>Internal Server Error</body></html>' }],
    ['HTTP 502', { status: 502, body: '<html><body>Bad Gateway</body></html>' }],
    ['HTTP 503', { status: 503, body: 'upstream connect error' }],
    ['HTTP 504', { status: 504, body: '<html><body>Gateway Time-out</body></html>' }],
    ['a dropped connection', 'reset'],
    [
      'a body cut short',
      { status: 200, headers: JSON_HEADERS, body: '{"meta": {"limit": 50, "ne' },
    ],
    ['an HTML page with status 200', { status: 200, body: '<html>Maintenance</html>' }],
  ] as [string, Fault][])('rides out %s and delivers every indicator', async (_name, fault) => {
    world = await startWorld({ total: TOTAL });
    const { logs } = await expectRunToRideItOut(world, onDomainRequests(4, 1, fault));
    expect(retriesLogged(logs.entries())).toHaveLength(1);
  });

  it('rides out a request that hangs past ANOMALI_TIMEOUT', async () => {
    world = await startWorld({ total: TOTAL });
    const { logs } = await expectRunToRideItOut(world, onDomainRequests(4, 1, 'hang'), {
      ANOMALI_TIMEOUT: '1',
    });
    expect(retriesLogged(logs.entries())).toEqual([
      expect.objectContaining({ reason: 'no response within 1000 ms' }),
    ]);
  });

  it('rides out a 429 storm without Retry-After by backing off', async () => {
    world = await startWorld({ total: TOTAL });
    const { logs } = await expectRunToRideItOut(world, onDomainRequests(4, 2, { status: 429 }));
    expect(retriesLogged(logs.entries()).map((e) => e.status)).toEqual([429, 429]);
  });

  it('rides out a 429 storm waiting only as long as Retry-After says', async () => {
    world = await startWorld({ total: TOTAL });
    const storm = onDomainRequests(4, 5, { status: 429, headers: { 'retry-after': '0' } });
    const { logs } = await expectRunToRideItOut(world, storm);
    // The logged delay is the pause taken: none, where backing off would pause 15 s or more.
    expect(retriesLogged(logs.entries()).map((e) => e.delayMs)).toEqual([0, 0, 0, 0, 0]);
  });

  it('fails the run when a 429 storm outlasts the retry budget, and the next run completes', async () => {
    world = await startWorld({ total: TOTAL });
    const storm = onDomainRequests(4, 8, { status: 429, headers: { 'retry-after': '0' } });
    const { logs } = await expectNextRunToComplete(world, storm);
    expect(logs.text()).toContain('failed after 8 attempt(s): HTTP 429');
  });

  it('fails the run on an error that retrying cannot fix (HTTP 400), and the next run completes', async () => {
    world = await startWorld({ total: TOTAL });
    const fault = onDomainRequests(4, 1, { status: 400, headers: JSON_HEADERS, body: '{}' });
    const { logs } = await expectNextRunToComplete(world, fault);
    expect(logs.text()).toContain('ThreatStream answered HTTP 400');
  });

  it('refuses an answer over ANOMALI_MAX_RESPONSE_MB without moving the cursor, and the next run completes', async () => {
    world = await startWorld({ total: TOTAL });
    const oversized = JSON.stringify({
      meta: { next: null, limit: 50 },
      objects: [{ padding: 'x'.repeat(1_200_000) }],
    });
    const fault = onDomainRequests(4, 1, { status: 200, headers: JSON_HEADERS, body: oversized });
    const { logs } = await expectNextRunToComplete(world, fault, { ANOMALI_MAX_RESPONSE_MB: '1' });
    expect(logs.text()).toContain(
      'ThreatStream response refused: larger than the 1048576-byte limit; lower the page size or raise the limit',
    );
  });

  it('does not follow a redirect to another host: the key never reaches it, and the next run completes', async () => {
    world = await startWorld({ total: TOTAL });
    decoy = await DecoyServer.start();
    const fault = onDomainRequests(4, 1, {
      status: 302,
      headers: { location: `${decoy.url}/api/v2/intelligence/?type=domain` },
    });
    const { logs } = await expectNextRunToComplete(world, fault);
    expect(decoy.requests).toEqual([]);
    expect(logs.text()).toContain('redirects are not followed');
  });
});
