import { describe, expect, it } from '@jest/globals';
import { AmqpSink } from '../../src/sinks/amqp-sink';
import { buildBundles } from '../../src/stix/batches';
import { AUTHOR, indicatorOf, record } from '../stix/records';
import { captureLogs } from '../support/capture';
import { decodeWorkerMessage } from '../support/rabbitmq';

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
