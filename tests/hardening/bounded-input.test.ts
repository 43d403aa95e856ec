import { afterEach, describe, expect, it } from '@jest/globals';
import {
  MAX_DESCRIPTION_LENGTH,
  MAX_LABEL_LENGTH,
  MAX_LABELS,
  convertRecord,
} from '../../src/stix/convert';
import type { Indicator } from '../../src/stix/types';
import { OPTIONS, record } from '../stix/records';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { storedCursors } from '../support/import-expectations';
import { runConnector } from '../support/in-process-daemon';
import { drainQueue } from '../support/rabbitmq';
import { intelRecord, pageBody } from '../support/threatstream-fixtures';
import { servingPage } from '../support/threatstream-faults';

/**
 * Records far larger than any sensible one: their description and labels are cut to bounds,
 * reading no more of them than is kept, and the rest of their batch is delivered as usual.
 */

describe('bounded input', () => {
  it('keeps at most 100 labels of at most 256 characters, and says it cut them', () => {
    const tags = [
      { name: 'x'.repeat(1000) },
      ...Array.from({ length: 300 }, (_, i) => ({ name: `t${i}` })),
    ];
    const result = convertRecord(record({ tags }), OPTIONS);
    if (!result.ok) throw new Error(result.detail);
    expect(result.truncated).toBe(true);
    expect(result.indicator.labels).toHaveLength(MAX_LABELS);
    expect(result.indicator.labels![0]).toHaveLength(MAX_LABEL_LENGTH);
    expect(result.indicator.labels![0]!.endsWith('[…]')).toBe(true);
  });

  it('cuts a description over 10,000 characters, with a marker', () => {
    const result = convertRecord(record({ description: 'd'.repeat(3_000_000) }), OPTIONS);
    if (!result.ok) throw new Error(result.detail);
    expect(result.truncated).toBe(true);
    expect(result.indicator.description).toHaveLength(MAX_DESCRIPTION_LENGTH);
    expect(result.indicator.description!.endsWith('[…]')).toBe(true);
  });

  it('reads only as many tags as it keeps, whatever a record carries', () => {
    let read = 0;
    const tags = new Proxy(
      Array.from({ length: 250_000 }, (_, i) => ({ name: `tag-${i}` })),
      {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) read++;
          return Reflect.get(target, key, receiver) as unknown;
        },
      },
    );
    const result = convertRecord(record({ tags }), OPTIONS);
    expect(result.ok).toBe(true);
    expect(read).toBeLessThanOrEqual(MAX_LABELS + 1);
  });

  it('leaves a record within its bounds as it is', () => {
    const result = convertRecord(record({ description: 'short', tags: [{ name: 'a' }] }), OPTIONS);
    expect(result.ok && result.truncated).toBe(false);
  });
});

let world: ConnectorWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('a record with a 3 MB description in a batch of 500', () => {
  it('delivers the other 499 once, cuts and counts that one, and moves the cursor', async () => {
    world = await startWorld({ total: 10 });
    const first = 800_001;
    const huge = first + 250;
    const records = Array.from({ length: 500 }, (_, i) =>
      intelRecord(first + i, {
        id: 600_000 + i,
        value: `198.51.${Math.floor(i / 250)}.${i % 250}`,
        ...(first + i === huge && { description: 'd'.repeat(3_000_000) }),
      }),
    );
    const page = JSON.stringify(pageBody(records));
    world.simulator.fault = servingPage('ip', page);

    const { code, logs } = await runConnector(world, { ANOMALI_TYPES: 'ip' });

    expect(code).toBe(0);
    const indicators = (await drainQueue(world.push.queue))
      .map((r) => r.bundle.objects[0])
      .filter((o): o is Indicator => o.type === 'indicator');
    expect(indicators).toHaveLength(500);
    expect(new Set(indicators.map((i) => i.name)).size).toBe(500);
    const cut = indicators.filter((i) => i.description?.endsWith('[…]'));
    expect(cut.map((i) => [i.name, i.description!.length])).toEqual([
      ['198.51.1.0', MAX_DESCRIPTION_LENGTH],
    ]);
    expect(logs.entries().find((e) => e.message === 'Run ended')).toMatchObject({
      outcome: 'completed',
      fetched: 500,
      imported: 500,
      truncated: 1,
      skipped: 0,
    });
    expect(storedCursors(world.opencti)).toEqual({ ip: String(first + 499) });
  });
});
