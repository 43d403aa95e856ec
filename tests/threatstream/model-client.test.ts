import { afterEach, describe, expect, it } from '@jest/globals';
import { silentLogger } from '../../src/log';
import { MODEL_TYPES } from '../../src/model-types';
import { ThreatModelClient } from '../../src/threatstream/model-client';
import {
  linkedIndices,
  startSimulator,
  type ModelCatalogOptions,
  type ThreatStreamSimulator,
} from '../../stand-ins/threatstream/simulator';
import { recordingSleep } from '../support/threatstream-fixtures';

/** The threat-model client against the simulator over loopback. */

const USERNAME = 'models@example.org';
const API_KEY = 'models-key-0123456789abcdef';
const START = new Date('2025-03-01T00:00:00.000Z');
const NOW = new Date('2026-01-01T00:00:00.000Z');

let sim: ThreatStreamSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function simulator(models: Partial<ModelCatalogOptions> = {}) {
  sim = await startSimulator({
    username: USERNAME,
    apiKey: API_KEY,
    total: 3000,
    startTime: START,
    models,
  });
  return sim;
}

function client(s: ThreatStreamSimulator): ThreatModelClient {
  return new ThreatModelClient({
    baseUrl: s.url,
    username: USERNAME,
    apiKey: API_KEY,
    sslVerify: true,
    timeoutMs: 5000,
    maxResponseBytes: 50_000_000,
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    logger: silentLogger(),
    sleep: recordingSleep().sleep,
  });
}

const never = new AbortController().signal;
const everything = { types: MODEL_TYPES, since: START, until: NOW };

async function collect<T>(pages: AsyncIterable<T[]>): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let count = 0;
  for await (const page of pages) {
    items.push(...page);
    count++;
  }
  return { items, pages: count };
}

describe('discovery', () => {
  it('finds every published model of the configured types once, vulnerabilities by their own search', async () => {
    const s = await simulator();
    const found = await client(s).discover(everything, never);
    const expected = s.threatModel.models.filter((m) => m.published && m.type !== 'signature');
    expect(found.map((m) => `${m.model_type}:${m.id}`).sort()).toEqual(
      expected.map((m) => `${m.type}:${m.id}`).sort(),
    );
    const searches = s.requests.recent.filter((r) => r.path === '/api/v1/threat_model_search/');
    expect(searches.map((r) => r.query.model_type)).toEqual([
      MODEL_TYPES.filter((t) => t !== 'vulnerability').join(','),
      'vulnerability',
    ]);
    expect(searches.every((r) => r.query.publication_status === 'published')).toBe(true);
  });

  it('keeps to the window and to the configured types', async () => {
    const s = await simulator();
    const inside = s.threatModel.models
      .filter((m) => m.published && m.type === 'actor')
      .slice(0, 2);
    const since = new Date(Math.min(...inside.map((m) => m.modifiedMs)));
    const until = new Date(Math.max(...inside.map((m) => m.modifiedMs)) + 1000);
    const found = await client(s).discover({ types: ['actor'], since, until }, never);
    expect(found.map((m) => m.id).sort()).toEqual(inside.map((m) => String(m.id)).sort());
    expect(s.requests.byEndpoint.threat_model_search).toBe(1);
  });

  it('walks a window of more than a page by lowering its upper bound, without offsets', async () => {
    const s = await simulator({ perType: 140 });
    const found = await client(s).discover(everything, never);
    const expected = s.threatModel.models.filter((m) => m.published && m.type !== 'signature');
    expect(expected.length).toBeGreaterThan(1000);
    expect(new Set(found.map((m) => `${m.model_type}:${m.id}`)).size).toBe(expected.length);
    expect(found).toHaveLength(expected.length);
    expect(s.requests.byEndpoint.threat_model_search).toBe(3);
  });
});

describe("a model's own requests", () => {
  it('reads the detail with the skip flags; a model ThreatStream no longer shows is null', async () => {
    const s = await simulator();
    const actor = s.threatModel.models.find((m) => m.type === 'actor')!;
    const detail = await client(s).detail('actor', String(actor.id), never);
    expect(detail).toMatchObject({ type: 'actor', id: String(actor.id), name: actor.name });
    expect(s.requests.recent.at(-1)!.query).toEqual({
      skip_associations: 'true',
      skip_intelligence: 'true',
    });
    expect(await client(s).detail('actor', '999999', never)).toBeNull();
  });

  it("streams a bulletin's IOCs page by page, as the feed's records", async () => {
    const s = await simulator({ largeBulletinIocs: 2500 });
    const bulletin = s.threatModel.models.at(-1)!;
    let pages = 0;
    const values: string[] = [];
    for await (const page of client(s).iocPages('tipreport', String(bulletin.id), never)) {
      pages++;
      expect(page.rejected).toEqual([]);
      values.push(...page.iocs.map((ioc) => ioc.record.value));
    }
    expect(pages).toBe(3);
    expect(values).toEqual(linkedIndices(bulletin).map((i) => s.recordAt(i).value));
    expect(s.requests.byEndpoint.model_intelligence).toBe(3);
  });

  it('lists the published models associated with a model', async () => {
    const s = await simulator({ perType: 7 });
    const bulletin = s.threatModel.models.find((m) => m.type === 'tipreport')!;
    const { items } = await collect(
      client(s).associations('tipreport', String(bulletin.id), 'malware', never),
    );
    const expected = s.threatModel
      .associatedWith(bulletin)
      .filter((m) => m.type === 'malware' && m.published);
    expect(items.map((m) => m.id)).toEqual(expected.map((m) => String(m.id)));
    expect(items.every((m) => m.type === 'malware')).toBe(true);
  });

  it('reads a listing of an unknown model as empty', async () => {
    const s = await simulator();
    const { items } = await collect(client(s).associations('actor', '999999', 'tool', never));
    expect(items).toEqual([]);
  });
});

describe("the simulator's threat-model endpoints", () => {
  const get = async (s: ThreatStreamSimulator, path: string) => {
    const response = await fetch(`${s.url}${path}`, {
      headers: { Authorization: `apikey ${USERNAME}:${API_KEY}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('refuse vulnerabilities mixed with other types, offsets and other orderings', async () => {
    const s = await simulator();
    const search = '/api/v1/threat_model_search/?';
    expect((await get(s, `${search}model_type=actor,vulnerability`)).status).toBe(400);
    expect((await get(s, `${search}model_type=actor&offset=20`)).status).toBe(400);
    expect((await get(s, `${search}order_by=modified_ts`)).status).toBe(400);
  });

  it('leave vulnerabilities out of a search without model_type', async () => {
    const s = await simulator();
    const { body } = await get(s, '/api/v1/threat_model_search/?limit=0');
    const types = (body.objects as { model_type: string }[]).map((o) => o.model_type);
    expect(types).not.toContain('vulnerability');
    expect(types).toContain('signature');
  });

  it('count the requests of each endpoint', async () => {
    const s = await simulator();
    await get(s, '/api/v1/threat_model_search/?model_type=actor');
    await get(s, '/api/v1/actor/3003/');
    await get(s, '/api/v1/actor/3003/intelligence/');
    await get(s, '/api/v1/actor/3003/malware/');
    await get(s, '/api/v1/nothing/');
    expect(s.requests.byEndpoint).toEqual({
      threat_model_search: 1,
      model_detail: 1,
      model_intelligence: 1,
      model_associations: 1,
      unknown: 1,
    });
  });
});
