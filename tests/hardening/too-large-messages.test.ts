import { describe, expect, it } from '@jest/globals';
import { RevocationFilter } from '../../src/connector/revocations';
import { runOnce } from '../../src/connector/run';
import type { ConnectorState } from '../../src/opencti/state';
import { AmqpSink } from '../../src/sinks/amqp-sink';
import { buildBundles } from '../../src/stix/batches';
import type { FeedItem } from '../../src/threatstream/client';
import { parseRecords } from '../../src/threatstream/schema';
import { AUTHOR, OPTIONS, indicatorOf, record } from '../stix/records';
import { captureLogs } from '../support/capture';
import { decodeWorkerMessage } from '../support/rabbitmq';
import { intelRecord } from '../support/threatstream-fixtures';

/**
 * Every message fits below MQ_MAX_MESSAGE_MB: an object whose message would not is left out of
 * its batch, counted as `too_large`, and never sent, so it cannot make the broker refuse the
 * batch again and again.
 */

function sink(maxMessageBytes: number) {
  const published: Buffer[][] = [];
  const expectations: number[] = [];
  const s = new AmqpSink({
    publisher: {
      publishBatch: (bodies) => {
        published.push([...bodies]);
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    },
    api: {
      workAddExpectations: (_id, n) => {
        expectations.push(n);
        return Promise.resolve();
      },
    },
    applicantId: null,
    maxMessageBytes,
    logger: captureLogs().logger,
  });
  return { sink: s, published, expectations };
}

describe('AmqpSink', () => {
  it('leaves out an object whose message would exceed the limit, and counts only what it sends', async () => {
    const small = indicatorOf(record({ value: '192.0.2.1' }));
    const huge = indicatorOf(record({ value: '192.0.2.2', description: 'x'.repeat(20_000) }));
    const [bundle] = buildBundles([small, huge], AUTHOR);
    const { sink: s, published, expectations } = sink(8_000);

    const prepared = await s.prepare(bundle!, 'work_1');
    await prepared.deliver();

    expect(prepared.tooLarge?.map((o) => o.id)).toEqual([huge.id]);
    expect(prepared.messages).toBe(bundle!.objects.length - 1);
    expect(expectations).toEqual([prepared.messages]);
    const sent = published[0]!.map((body) => decodeWorkerMessage(body));
    expect(sent.map((m) => m.bundle.objects[0].id)).not.toContain(huge.id);
    expect(sent.map((m) => m.message.action_sequence)).toEqual(sent.map((_, i) => i + 1));
    for (const body of published[0]!) expect(body.length).toBeLessThanOrEqual(8_000);
  });

  it('sends every object when all fit', async () => {
    const [bundle] = buildBundles([indicatorOf(record())], AUTHOR);
    const { sink: s } = sink(16 * 1024 * 1024);
    const prepared = await s.prepare(bundle!, null);
    expect(prepared.tooLarge).toEqual([]);
    expect(prepared.messages).toBe(bundle!.objects.length);
  });
});

describe('a run with an object too large to send', () => {
  it('skips it as too_large, delivers the rest, and still moves the cursor past it', async () => {
    const raws = [
      intelRecord(1),
      intelRecord(2, { value: '192.0.2.2', description: 'x'.repeat(20_000) }),
    ];
    const { records, rejected } = parseRecords(raws);
    const pages = async function* (): AsyncGenerator<FeedItem> {
      await Promise.resolve();
      yield { type: 'ip', page: { records, rejected, cursor: '2', hasMore: false } };
    };
    const { sink: s, published } = sink(8_000);
    const saved: ConnectorState[] = [];
    const state = {
      load: () => ({ state: { cursors: {} }, generation: 0 }),
      save: (next: ConnectorState) => Promise.resolve(saved.push(next) > 0),
    };
    const logger = captureLogs().logger;
    const now = () => new Date('2026-03-01T12:00:00.000Z');
    const stop = new AbortController().signal;
    const summary = await runOnce(
      {
        client: { pages },
        sink: s,
        state,
        works: null,
        queueGate: null,
        revocations: new RevocationFilter(null, logger),
        logger,
        now,
      },
      {
        connectorName: 'Anomali ThreatStream',
        types: ['ip'],
        importStart: { kind: 'ago', ms: 30 * 86_400_000 },
        stabilityDelayMs: 0,
        minConfidence: undefined,
        feedIds: [],
        trustedCircleIds: [],
        convert: OPTIONS,
      },
      { stop, abort: stop },
    );

    expect(summary.skippedByReason).toEqual({ too_large: 1 });
    expect(summary.totals()).toMatchObject({ fetched: 2, imported: 1, skipped: 1 });
    const sent = published.flat().map((body) => decodeWorkerMessage(body).bundle.objects[0]);
    expect(sent.filter((o) => o.type === 'indicator').map((o) => o.name)).toEqual(['198.51.100.1']);
    expect(saved).toEqual([{ cursors: { ip: '2' } }]);
  });
});
