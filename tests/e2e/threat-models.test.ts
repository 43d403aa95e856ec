import { afterEach, expect, it } from '@jest/globals';
import { MODEL_TYPES } from '../../src/model-types';
import { startWorld, type ConnectorWorld } from '../support/connector-env';
import { runConnector } from '../support/in-process-daemon';
import { drainQueue } from '../support/rabbitmq';
import {
  importedModels,
  linkedIndicatorIds,
  objectsOf,
  rejectedRelationships,
  unresolvableReferences,
} from '../support/threat-model-expectations';

/**
 * The threat-model import end to end: the daemon against the ThreatStream simulator's models,
 * the OpenCTI stand-in and the real RabbitMQ, read back as the OpenCTI worker reads the queue.
 */

const TOTAL = 600;
const IOC_TYPES = { ANOMALI_TYPES: 'domain,url,hash' };
const WIRE_TYPES = ['domain', 'url', 'md5'];
const MODELS = { perType: 3, iocsPerModel: 40 };

/** Models of the catalog whose names are those of the reference's test vectors, with their ids. */
const REFERENCE_IDS: Record<string, string> = {
  'actor:Ember Lynx': 'intrusion-set--96b8cc89-f5a2-5d51-a6fc-0ac96e6d9e72',
  'malware:PaleLoader': 'malware--3284105d-e50d-50a3-afeb-462beb75bb26',
  'malware:Emotet': 'malware--36297121-bf18-56e1-b200-d39c9f9f5cee',
  'vulnerability:CVE-2024-3400': 'vulnerability--e74825ea-54e6-5e31-92f9-a991838a0932',
  'attackpattern:Spearphishing Attachment': 'attack-pattern--6b3d6efe-0d48-5d0d-875a-086b0d02d110',
  'ttp:T1059.001 PowerShell': 'attack-pattern--5a9d0c10-3eab-5b54-9d30-d9ae590d238b',
  'intrusionset:APT28': 'intrusion-set--f743ab1d-b2f2-58f8-975f-0993511c0b9d',
  'tool:Mimikatz': 'tool--dae20ca4-ebdf-5248-83ac-0f7a52f94fcc',
  'tool:BloodHound': 'tool--8817d5af-b8dd-593e-ac17-23d8a915fbd7',
  'campaign:Operation Ghost Ledger': 'campaign--f00f3377-89ee-5b04-b144-51ee6a4bcba2',
};

let world: ConnectorWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const publishedModels = (w: ConnectorWorld) =>
  w.simulator.threatModel.models.filter(
    (m) => m.published && (MODEL_TYPES as readonly string[]).includes(m.type),
  );

async function importRun(w: ConnectorWorld, env: Record<string, string> = {}) {
  const before = { ...w.simulator.requests.byEndpoint };
  const { code, logs } = await runConnector(w, { ...IOC_TYPES, ...env });
  expect(code).toBe(0);
  const received = await drainQueue(w.push.queue);
  // The requests this run made, by endpoint.
  const requests: Record<string, number> = {};
  for (const [endpoint, n] of Object.entries(w.simulator.requests.byEndpoint)) {
    const made = n - (before[endpoint as keyof typeof before] ?? 0);
    if (made !== 0) requests[endpoint] = made;
  }
  return { received, logs, requests, imported: importedModels(logs.entries()) };
}

it('imports every published model once, with the reference ids, and only resolvable relationships OpenCTI accepts', async () => {
  world = await startWorld({ total: TOTAL, models: MODELS });
  const { received, imported } = await importRun(world);

  const expected = publishedModels(world).map((m) => `${m.type}:${m.id}`);
  expect([...imported].sort()).toEqual([...expected].sort());
  const objects = objectsOf(received);
  const sentIds = new Set(objects.map((o) => o.id));
  for (const model of world.simulator.threatModel.models) {
    const id = REFERENCE_IDS[`${model.type}:${model.name}`];
    if (id !== undefined)
      expect({ model: model.name, sent: sentIds.has(id) }).toEqual({
        model: model.name,
        sent: model.published,
      });
  }
  expect(objects.filter((o) => o.type === 'report')).toHaveLength(
    publishedModels(world).filter((m) => m.type === 'tipreport').length,
  );
  expect(objects.filter((o) => o.type === 'relationship').length).toBeGreaterThan(50);
  expect(unresolvableReferences(received)).toEqual([]);
  expect(rejectedRelationships(received)).toEqual([]);
  // Drafts stay out, signatures are not imported.
  for (const draft of world.simulator.threatModel.models.filter((m) => !m.published)) {
    expect(objects.filter((o) => o.name === draft.name)).toEqual([]);
  }
  expect(objects.some((o) => o.name === 'PaleLoader_Dropper_Strings')).toBe(false);
  const state = JSON.parse(world.opencti.state!) as { models?: { since: string } };
  expect(state.models?.since).toBeDefined();
  expect(world.opencti.takeViolations()).toEqual([]);
}, 60_000);

it('links only the IOCs the IOC filters let in, with indicator ids of the IOC import', async () => {
  world = await startWorld({ total: TOTAL, models: MODELS });
  const { received } = await importRun(world, { ANOMALI_THREAT_MODEL_TYPES: 'malware' });
  const malware = publishedModels(world).filter((m) => m.type === 'malware');
  const expected = new Set(
    malware.flatMap((m) => [...linkedIndicatorIds(world!.simulator, m, WIRE_TYPES)]),
  );
  const indicates = objectsOf(received).filter((o) => o.relationship_type === 'indicates');
  expect(new Set(indicates.map((o) => o.source_ref))).toEqual(expected);
  expect(expected.size).toBeGreaterThan(10);
}, 60_000);

it('asks only for the discovery pages and sends nothing when no model changed; one change re-sends that model and its links', async () => {
  world = await startWorld({ total: TOTAL, models: MODELS });
  await importRun(world);

  const quiet = await importRun(world);
  expect(quiet.received).toEqual([]);
  expect(quiet.requests).toEqual({ intelligence: 3, threat_model_search: 2 });

  const malware = world.simulator.threatModel.models.find(
    (m) => m.type === 'malware' && m.published,
  )!;
  world.simulator.threatModel.touch('malware', malware.id);
  const changed = await importRun(world);
  expect(changed.imported).toEqual([`malware:${malware.id}`]);
  const objects = objectsOf(changed.received);
  const own = REFERENCE_IDS[`malware:${malware.name}`]!;
  const relationships = objects.filter((o) => o.type === 'relationship');
  expect(relationships.every((o) => o.source_ref === own || o.target_ref === own)).toBe(true);
  const linked = linkedIndicatorIds(world.simulator, malware, WIRE_TYPES);
  expect(new Set(objects.filter((o) => o.type === 'indicator').map((o) => o.id))).toEqual(linked);
  expect(unresolvableReferences(changed.received)).toEqual([]);
  expect(changed.requests.model_detail).toBe(1);
}, 60_000);

it('continues from the cursor when a run may import only a few models, losing none that share a modified_ts', async () => {
  world = await startWorld({ total: 200, models: MODELS });
  const imported: string[] = [];
  for (let run = 0; run < 20; run++) {
    const { imported: now } = await importRun(world, {
      ANOMALI_TYPES: 'domain',
      ANOMALI_MODEL_MAX_PER_RUN: '2',
    });
    expect(now.length).toBeLessThanOrEqual(2);
    if (now.length === 0) break;
    imported.push(...now);
  }
  // The catalog's second and third models share their modified_ts and fall on both sides of a cap.
  expect([...imported].sort()).toEqual(
    publishedModels(world)
      .map((m) => `${m.type}:${m.id}`)
      .sort(),
  );
}, 120_000);

it('imports every model again after a reset in the OpenCTI UI', async () => {
  world = await startWorld({ total: 200, models: MODELS });
  const first = await importRun(world, { ANOMALI_TYPES: 'domain' });
  world.opencti.resetState();
  const again = await importRun(world, { ANOMALI_TYPES: 'domain' });
  expect([...again.imported].sort()).toEqual([...first.imported].sort());
  expect(first.imported.length).toBe(publishedModels(world).length);
}, 60_000);

it('imports no threat model when ANOMALI_THREAT_MODEL_TYPES is empty', async () => {
  world = await startWorld({ total: 200, models: MODELS });
  const { imported, requests } = await importRun(world, {
    ANOMALI_TYPES: 'domain',
    ANOMALI_THREAT_MODEL_TYPES: '',
  });
  expect(imported).toEqual([]);
  expect(requests).toEqual({ intelligence: 1 });
  expect(JSON.parse(world.opencti.state!)).not.toHaveProperty('models');
}, 60_000);
