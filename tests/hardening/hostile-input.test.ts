import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { TLP_MARKING_IDS } from '../../src/stix/markings';
import type { Indicator } from '../../src/stix/types';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { DecoyServer } from '../support/decoy-server';
import {
  expectedFinalCursors,
  expectedIds,
  indicatorIdsOf,
  invalidObjects,
  storedCursors,
} from '../support/import-expectations';
import { runConnector } from '../support/in-process-daemon';
import { drainQueue } from '../support/rabbitmq';
import { intelRecord } from '../support/threatstream-fixtures';
import { servingPage } from '../support/threatstream-faults';

/**
 * ThreatStream answers that a careless or compromised upstream could send. The daemon must not
 * crash, must emit only objects the STIX schemas accept, must count every skip by its reason,
 * and must never send the API key anywhere but the configured host.
 */

let world: ConnectorWorld | undefined;
let decoy: DecoyServer | undefined;
let proxy: http.Server | undefined;

afterEach(async () => {
  await world?.close();
  await decoy?.close();
  if (proxy) {
    proxy.closeAllConnections();
    proxy.close();
  }
  world = undefined;
  decoy = undefined;
  proxy = undefined;
});

type Outcome =
  | 'imported'
  | 'malformed_record'
  | 'invalid_value'
  | 'invalid_timestamp'
  | 'unsupported_type'
  | 'unsupported_status';

const without = (record: Record<string, unknown>, field: string) => {
  const copy = { ...record };
  delete copy[field];
  return copy;
};

/** One page of records, each with what the connector must make of it. */
const HOSTILE: [string, (updateId: number) => unknown, Outcome][] = [
  ['a well-formed record', (u) => intelRecord(u), 'imported'],
  ['no value', (u) => without(intelRecord(u), 'value'), 'malformed_record'],
  ['a number as value', (u) => intelRecord(u, { value: 1234 }), 'malformed_record'],
  ['no id', (u) => without(intelRecord(u), 'id'), 'malformed_record'],
  ['a status that is not text', (u) => intelRecord(u, { status: 7 }), 'malformed_record'],
  [
    'created_ts as a number',
    (u) => intelRecord(u, { created_ts: 1_700_000_000 }),
    'malformed_record',
  ],
  ['null instead of a record', () => null, 'malformed_record'],
  ['text instead of a record', () => 'ip 203.0.113.5', 'malformed_record'],
  [
    'a 1 MB value',
    (u) => intelRecord(u, { type: 'url', value: `http://example.com/${'a'.repeat(1 << 20)}` }),
    'invalid_value',
  ],
  [
    'a NUL inside a domain',
    (u) => intelRecord(u, { type: 'domain', value: 'evil\u0000.example.com' }),
    'invalid_value',
  ],
  [
    'a terminal escape inside a URL',
    (u) => intelRecord(u, { type: 'url', value: 'http://example.com/\u001b[31mred' }),
    'invalid_value',
  ],
  [
    'an IPv4 address out of range',
    (u) => intelRecord(u, { value: '999.10.10.10' }),
    'invalid_value',
  ],
  ['an IPv4 prefix over 32', (u) => intelRecord(u, { value: '198.51.100.0/33' }), 'invalid_value'],
  [
    'an IPv6 address that is not one',
    (u) => intelRecord(u, { type: 'ipv6', value: '2001:db8::zz' }),
    'invalid_value',
  ],
  [
    'a domain with a space',
    (u) => intelRecord(u, { type: 'domain', value: 'login secure-bank.com' }),
    'invalid_value',
  ],
  [
    'a lone surrogate inside a domain',
    (u) => intelRecord(u, { type: 'domain', value: 'a\ud800.example.com' }),
    'invalid_value',
  ],
  [
    'an unknown type',
    (u) => intelRecord(u, { type: 'carrier_pigeon', value: 'coo' }),
    'unsupported_type',
  ],
  [
    'a string record with an unknown itype',
    (u) => intelRecord(u, { type: 'string', itype: 'mystery_blob', value: 'x' }),
    'unsupported_type',
  ],
  ['an unknown status', (u) => intelRecord(u, { status: 'pending-review' }), 'unsupported_status'],
  [
    'a created_ts that is not a date',
    (u) => intelRecord(u, { created_ts: 'yesterday' }),
    'invalid_timestamp',
  ],
  [
    'a modified_ts on February 30',
    (u) => intelRecord(u, { modified_ts: '2026-02-30T10:00:00Z' }),
    'invalid_timestamp',
  ],
  [
    'a created_ts in year 10000',
    (u) => intelRecord(u, { created_ts: '10000-01-01T00:00:00Z' }),
    'invalid_timestamp',
  ],
  [
    'revoked in the last second of year 9999',
    (u) =>
      intelRecord(u, {
        status: 'falsepos',
        created_ts: '9999-12-31T23:59:59.500Z',
        modified_ts: '9999-12-31T23:59:59.500Z',
      }),
    'invalid_timestamp',
  ],
  [
    'created in year 9999',
    (u) =>
      intelRecord(u, { created_ts: '9999-12-31T00:00:00Z', modified_ts: '9999-12-31T00:00:00Z' }),
    'imported',
  ],
  [
    'an expiration before its creation',
    (u) => intelRecord(u, { expiration_ts: '2020-01-01T00:00:00Z' }),
    'imported',
  ],
  ['confidence 150', (u) => intelRecord(u, { confidence: 150 }), 'imported'],
  ['confidence -7', (u) => intelRecord(u, { confidence: -7 }), 'imported'],
  ['confidence as text', (u) => intelRecord(u, { confidence: 'high' }), 'imported'],
  ['tags as a string', (u) => intelRecord(u, { tags: 'botnet' }), 'imported'],
  ['tags null', (u) => intelRecord(u, { tags: null }), 'imported'],
  [
    'tags with junk entries',
    (u) => intelRecord(u, { tags: [null, 5, { name: 7 }, { name: 'phishing' }, 'c2'] }),
    'imported',
  ],
  ['meta as a string', (u) => intelRecord(u, { meta: 'severe' }), 'imported'],
  ['an unknown TLP', (u) => intelRecord(u, { tlp: 'ultraviolet' }), 'imported'],
  ['an unknown itype on an IP', (u) => intelRecord(u, { itype: 'quantum_relay_ip' }), 'imported'],
  [
    'the value padded with spaces',
    (u) => intelRecord(u, { value: '  203.0.113.77  ' }),
    'imported',
  ],
  [
    'control characters in the description',
    (u) => intelRecord(u, { description: 'line\u0000two\u0007' }),
    'imported',
  ],
];

const FIRST_UPDATE_ID = 900_001;
const LAST_UPDATE_ID = String(FIRST_UPDATE_ID + HOSTILE.length - 1);
const records = HOSTILE.map(([, make], i) => make(FIRST_UPDATE_ID + i));

const countBy = <T extends string>(items: readonly T[]) => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
};

describe('hostile ThreatStream input', () => {
  it('survives a page of malformed and hostile records: valid STIX only, every skip counted by reason', async () => {
    world = await startWorld({ total: 10 });
    const page = JSON.stringify({
      meta: { next: null, limit: 1000, total_count: 1 },
      objects: records,
    });
    world.simulator.fault = servingPage('ip', page);

    const { code, logs } = await runConnector(world, { ANOMALI_TYPES: 'ip' });
    expect(code).toBe(0);

    const received = await drainQueue(world.push.queue);
    expect(invalidObjects(received)).toEqual([]);
    const indicators = received
      .map((r) => r.bundle.objects[0])
      .filter((o): o is Indicator => o.type === 'indicator');
    const byName = (name: string) => indicators.find((i) => i.name === name);
    const imported = HOSTILE.filter(([, , outcome]) => outcome === 'imported');
    expect(indicators).toHaveLength(imported.length);

    // What a user finds in OpenCTI for the odd records that are still worth importing.
    const nameOf = (description: string) => {
      const index = HOSTILE.findIndex(([d]) => d === description);
      return `198.51.100.${(FIRST_UPDATE_ID + index) % 250}`;
    };
    const in9999 = byName(nameOf('created in year 9999'))!;
    expect(in9999).toMatchObject({ valid_from: '9999-12-31T00:00:00.000Z', revoked: false });
    expect(in9999.valid_until).toBeUndefined();
    expect(byName(nameOf('an expiration before its creation'))!.valid_until).toBeUndefined();
    // An unusable confidence falls back to the severity ("high").
    expect(byName(nameOf('confidence 150'))!.x_opencti_score).toBe(75);
    expect(byName(nameOf('confidence -7'))!.x_opencti_score).toBe(75);
    expect(byName(nameOf('tags as a string'))!.labels).toEqual(['c2_ip']);
    expect(byName(nameOf('tags with junk entries'))!.labels).toEqual(['phishing', 'c2', 'c2_ip']);
    expect(byName(nameOf('an unknown TLP'))!.object_marking_refs).toEqual([TLP_MARKING_IDS.amber]);
    // An itype nobody knows is kept as a label; the threat type still says what it is.
    expect(byName(nameOf('an unknown itype on an IP'))).toMatchObject({
      labels: ['botnet', 'quantum_relay_ip'],
      indicator_types: ['malicious-activity'],
    });
    expect(byName('203.0.113.77')).toBeDefined();

    const skipped = HOSTILE.map(([, , outcome]) => outcome).filter((o) => o !== 'imported');
    const expectedReasons = countBy(skipped);
    const summary = logs.entries().find((e) => e.message === 'Run ended')!;
    expect(summary).toMatchObject({
      outcome: 'completed',
      fetched: HOSTILE.length,
      imported: imported.length,
      skipped: skipped.length,
      skipped_by_reason: expectedReasons,
    });
    const workMessage = world.opencti.works[0]!.processed!.message!;
    const reasons = /skipped (\d+) \(([^)]*)\)/.exec(workMessage)!;
    expect(Number(reasons[1])).toBe(skipped.length);
    expect(
      Object.fromEntries(
        reasons[2]!.split(', ').map((r) => [r.split(': ')[0], Number(r.split(': ')[1])]),
      ),
    ).toEqual(expectedReasons);

    // Even unreadable records move the cursor past them: none is fetched again.
    expect(storedCursors(world.opencti)).toEqual({ ip: LAST_UPDATE_ID });
  });

  it('never follows meta.next to another host, and still imports every page', async () => {
    const total = 1500;
    world = await startWorld({ total });
    decoy = await DecoyServer.start();
    const rewriting = await startNextRewritingProxy(
      world.simulator.url,
      `${decoy.url}/api/v2/intelligence/`,
    );
    proxy = rewriting.server;

    const { code } = await runConnector(world, {
      ANOMALI_URL: rewriting.url,
      ANOMALI_TYPES: 'domain',
      ANOMALI_PAGE_SIZE: '50',
    });
    expect(code).toBe(0);
    expect(rewriting.rewritten()).toBeGreaterThanOrEqual(2);
    expect(decoy.requests).toEqual([]);
    expect(indicatorIdsOf(await drainQueue(world.push.queue))).toEqual(
      expectedIds(total, ['domain']),
    );
    expect(storedCursors(world.opencti)).toEqual(expectedFinalCursors(total, ['domain']));
  });
});

/** Passes requests to ThreatStream and points every `meta.next` it answers at another host. */
async function startNextRewritingProxy(
  target: string,
  next: string,
): Promise<{ server: http.Server; url: string; rewritten: () => number }> {
  let rewritten = 0;
  const server = http.createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${target}${req.url ?? '/'}`, {
        headers: { authorization: req.headers.authorization ?? '', accept: 'application/json' },
      });
      let body = await upstream.text();
      if (upstream.ok) {
        const page = JSON.parse(body) as { meta: { next: string | null } };
        if (page.meta.next !== null) {
          page.meta.next = `${next}?offset=50&limit=50`;
          rewritten++;
        }
        body = JSON.stringify(page);
      }
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(body);
    })().catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url, rewritten: () => rewritten };
}
