import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  API_KEY,
  CONNECTOR_USER,
  TOKEN,
  expectedIndicatorIds,
  startWorld,
  type ConnectorWorld,
} from '../support/connector-env';
import { ensureBuilt, killStartedDaemons, startDaemon } from '../support/daemon-process';
import {
  ALL_TYPES,
  expectedFinalCursors,
  indicatorIdsOf,
  invalidObjects,
  lastPingedCursors,
  storedCursors,
} from '../support/import-expectations';
import { drainQueue } from '../support/rabbitmq';

let world: ConnectorWorld | undefined;

beforeAll(() => ensureBuilt(), 120_000);

afterEach(async () => {
  await killStartedDaemons();
  await world?.close();
  world = undefined;
});

describe('the built daemon, run and terminate', () => {
  it('imports a cold start into the push queue exactly as the worker reads it, stores the cursors and exits 0', async () => {
    world = await startWorld({ total: 3000 });
    const daemon = startDaemon({ ...world.env, ANOMALI_PAGE_SIZE: '250' });

    expect(await daemon.waitForExit()).toEqual({ code: 0, signal: null });
    expect(daemon.otherLines).toEqual([]);

    const received = await drainQueue(world.push.queue);
    expect(world.opencti.works).toHaveLength(1);
    const work = world.opencti.works[0]!;
    for (const { raw, message, bundle } of received) {
      expect(message).toEqual({
        bundle_type: 'QUEUE_BUNDLE',
        applicant_id: CONNECTOR_USER,
        action_sequence: expect.any(Number),
        entities_types: [],
        content: expect.any(String),
        update: false,
        draft_id: null,
        work_id: work.id,
      });
      expect(Buffer.from(message.content, 'base64').toString('base64')).toBe(message.content);
      expect(raw.properties).toMatchObject({ deliveryMode: 2, contentEncoding: 'utf-8' });
      expect(bundle).toEqual({
        type: 'bundle',
        id: expect.stringMatching(/^bundle--[0-9a-f-]{36}$/),
        spec_version: '2.1',
        x_opencti_seq: expect.any(Number),
        objects: [expect.objectContaining({ id: expect.any(String) })],
      });
    }
    expect(invalidObjects(received)).toEqual([]);
    // Messages of one bundle are numbered 1..n in publishing order.
    const sequences = new Map<string, number[]>();
    for (const { message, bundle } of received) {
      sequences.set(bundle.id, [...(sequences.get(bundle.id) ?? []), message.action_sequence]);
    }
    for (const numbers of sequences.values()) {
      expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    }

    expect(indicatorIdsOf(received)).toEqual(expectedIndicatorIds(3000, ALL_TYPES, true));
    expect(work.expectations).toBe(received.length);
    expect(work.processed).toEqual({
      message: expect.stringMatching(/^Fetched \d+ ThreatStream IOCs; imported \d+ indicators/),
      inError: false,
    });
    expect(storedCursors(world.opencti)).toEqual(expectedFinalCursors(3000, ALL_TYPES));
    expect(lastPingedCursors(world.opencti)).toEqual(storedCursors(world.opencti));
    expect(world.opencti.takeViolations()).toEqual([]);
  });

  it('exits 1 at start-up with one line naming the keys to check when ThreatStream rejects the API key', async () => {
    world = await startWorld({ total: 50 });
    const wrongKey = 'ts-key-nobody-issued-31f7a0';
    const daemon = startDaemon({ ...world.env, ANOMALI_API_KEY: wrongKey });

    expect(await daemon.waitForExit()).toEqual({ code: 1, signal: null });
    const errors = daemon.logs.filter((e) => e.level === 'error');
    expect(errors.map((e) => e.message)).toEqual([
      'ThreatStream rejected the credentials (HTTP 401): check ANOMALI_USERNAME and ANOMALI_API_KEY',
    ]);
    expect(world.simulator.requests.count).toBe(1);
    expect(world.opencti.works).toEqual([]);
    expect(daemon.output()).not.toContain(wrongKey);
  });

  it('exits 1 with a message naming the keys to check when the key is refused during a run', async () => {
    world = await startWorld({ total: 50 });
    // The start-up check (limit=1) passes; every page request after it is refused.
    world.simulator.fault = (request) =>
      request.query.limit === '1' ? undefined : { status: 401 };
    const daemon = startDaemon(world.env);

    expect(await daemon.waitForExit()).toEqual({ code: 1, signal: null });
    const errors = daemon.logs.filter((e) => e.level === 'error');
    expect(errors.map((e) => e.message)).toEqual([
      'Stopping: this error needs a configuration change',
    ]);
    expect(JSON.stringify(errors[0])).toContain(
      'ThreatStream rejected the credentials (HTTP 401): check ANOMALI_USERNAME and ANOMALI_API_KEY',
    );
    expect(world.opencti.works[0]?.processed?.inError).toBe(true);
  });

  it('refuses a bad configuration before contacting anything: exit 2 and one line naming the key', async () => {
    const daemon = startDaemon({
      OPENCTI_URL: 'http://127.0.0.1:9',
      OPENCTI_TOKEN: TOKEN,
      CONNECTOR_ID: '0b6a4f9e-5a43-4a8e-9d49-4f7f8b8e2c11',
      ANOMALI_USERNAME: 'analyst@example.com',
      ANOMALI_API_KEY: API_KEY,
      CONNECTOR_CONFIG_FILE: '/dev/null',
      CONNECTOR_DURATION_PERIOD: 'banana',
    });

    expect(await daemon.waitForExit()).toEqual({ code: 2, signal: null });
    expect(daemon.otherLines).toEqual([]);
    expect(daemon.logs).toEqual([
      expect.objectContaining({
        level: 'error',
        message:
          'Invalid configuration: CONNECTOR_DURATION_PERIOD: "banana" is neither whole seconds nor an ISO-8601 duration (e.g. 3600 or PT1H); 0 runs once',
      }),
    ]);
  });
});
