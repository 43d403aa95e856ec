import { convertRecord } from '../../src/stix/convert';
import { parseRecords } from '../../src/threatstream/schema';
import {
  linkedIndices,
  type SimulatedModel,
  type ThreatStreamSimulator,
} from '../../stand-ins/threatstream/simulator';
import { CONVERT_OPTIONS } from './connector-env';
import type { ReceivedMessage } from './rabbitmq';

/**
 * What a threat-model import must have put in the queue, checked the way OpenCTI would receive
 * it: every reference resolvable, every relationship of a pair the platform accepts.
 */

interface Sent {
  type: string;
  id: string;
  relationship_type?: string;
  source_ref?: string;
  target_ref?: string;
  object_refs?: string[];
  name?: string;
  revoked?: boolean;
}

export const objectsOf = (received: readonly ReceivedMessage[]): Sent[] =>
  received.map((r) => r.bundle.objects[0] as unknown as Sent);

const typeOf = (id: string) => id.slice(0, id.indexOf('--'));

/**
 * The (source type, verb, target type) triples OpenCTI accepts, from its relationship mapping
 * as the threat-model reference lists it; `related-to` is accepted between any two objects.
 */
const ACCEPTED = new Set([
  ...[
    'attack-pattern',
    'campaign',
    'incident',
    'infrastructure',
    'intrusion-set',
    'malware',
    'threat-actor',
    'tool',
    'vulnerability',
  ].map((target) => `indicator indicates ${target}`),
  ...['intrusion-set', 'threat-actor', 'campaign'].flatMap((source) => [
    `${source} uses malware`,
    `${source} uses tool`,
    `${source} uses attack-pattern`,
    `${source} uses infrastructure`,
    `${source} targets vulnerability`,
  ]),
  'intrusion-set attributed-to threat-actor',
  'campaign attributed-to intrusion-set',
  'campaign attributed-to threat-actor',
  'incident attributed-to campaign',
  'incident attributed-to intrusion-set',
  'incident attributed-to threat-actor',
  'incident uses malware',
  'incident uses tool',
  'incident uses attack-pattern',
  'incident targets vulnerability',
  'malware exploits vulnerability',
  'malware targets vulnerability',
  'malware uses tool',
  'malware uses attack-pattern',
  'malware uses infrastructure',
  'tool targets vulnerability',
  'tool uses attack-pattern',
]);

/** Relationships whose pair OpenCTI would reject. */
export function rejectedRelationships(received: readonly ReceivedMessage[]): string[] {
  return objectsOf(received)
    .filter((o) => o.type === 'relationship' && o.relationship_type !== 'related-to')
    .map((o) => `${typeOf(o.source_ref!)} ${o.relationship_type!} ${typeOf(o.target_ref!)}`)
    .filter((triple) => !ACCEPTED.has(triple));
}

/**
 * References that point at nothing sent before: a relationship's ends must travel in its own
 * bundle (the messages of one bundle share its id), a report's references in earlier messages.
 */
export function unresolvableReferences(received: readonly ReceivedMessage[]): string[] {
  const inBundle = new Map<string, Set<string>>();
  for (const { bundle } of received) {
    const ids = inBundle.get(bundle.id) ?? new Set<string>();
    ids.add(bundle.objects[0].id);
    inBundle.set(bundle.id, ids);
  }
  const sentBefore = new Set<string>();
  const problems: string[] = [];
  for (const { bundle } of received) {
    const object = bundle.objects[0] as unknown as Sent;
    const ids = inBundle.get(bundle.id)!;
    for (const end of [object.source_ref, object.target_ref]) {
      if (end !== undefined && !ids.has(end)) problems.push(`${object.id} → ${end}`);
    }
    for (const ref of object.object_refs ?? []) {
      if (!sentBefore.has(ref)) problems.push(`${object.id} → ${ref}`);
    }
    sentBefore.add(object.id);
  }
  return problems;
}

/** The indicator ids of the records linked to a model that pass the given IOC filters. */
export function linkedIndicatorIds(
  simulator: ThreatStreamSimulator,
  model: SimulatedModel,
  wireTypes: readonly string[],
): Set<string> {
  const ids = new Set<string>();
  for (const index of linkedIndices(model)) {
    const raw = simulator.recordAt(index);
    if (raw.status !== 'active' || !wireTypes.includes(raw.type)) continue;
    const [record] = parseRecords([raw]).records;
    const result = record && convertRecord(record, CONVERT_OPTIONS);
    if (result?.ok) ids.add(result.indicator.id);
  }
  return ids;
}

/** `type:id` of each model the run logged as imported, in order. */
export function importedModels(entries: readonly Record<string, unknown>[]): string[] {
  return entries
    .filter((e) => e.message === 'Threat model imported')
    .map((e) => `${String(e.model_type)}:${String(e.model_id)}`);
}
