import { relationshipId } from '../stix/ids';
import type { Relationship } from '../stix/knowledge-types';
import { TLP_LEVELS, TLP_MARKING_IDS } from '../stix/markings';
import type { Identity } from '../stix/types';

/**
 * ThreatStream's associations carry no verb: the relationship type comes from the STIX types of
 * the two ends, as OpenCTI accepts them (its stixCoreRelationshipsMapping). A pair it has no verb
 * for is `related-to`, which it accepts between any two objects.
 */

type Rule = readonly [source: string, verb: string, target: string];

const INDICATED = [
  'attack-pattern',
  'campaign',
  'incident',
  'infrastructure',
  'intrusion-set',
  'malware',
  'threat-actor',
  'tool',
  'vulnerability',
];

const RULES: readonly Rule[] = [
  ...INDICATED.map((target): Rule => ['indicator', 'indicates', target]),
  ...['intrusion-set', 'threat-actor', 'campaign'].flatMap((actor): Rule[] => [
    [actor, 'uses', 'malware'],
    [actor, 'uses', 'tool'],
    [actor, 'uses', 'attack-pattern'],
    [actor, 'uses', 'infrastructure'],
    [actor, 'targets', 'vulnerability'],
  ]),
  ['intrusion-set', 'attributed-to', 'threat-actor'],
  ['campaign', 'attributed-to', 'intrusion-set'],
  ['campaign', 'attributed-to', 'threat-actor'],
  ['incident', 'attributed-to', 'campaign'],
  ['incident', 'attributed-to', 'intrusion-set'],
  ['incident', 'attributed-to', 'threat-actor'],
  ['incident', 'uses', 'malware'],
  ['incident', 'uses', 'tool'],
  ['incident', 'uses', 'attack-pattern'],
  ['incident', 'targets', 'vulnerability'],
  ['malware', 'exploits', 'vulnerability'],
  ['malware', 'uses', 'tool'],
  ['malware', 'uses', 'attack-pattern'],
  ['malware', 'uses', 'infrastructure'],
  ['tool', 'targets', 'vulnerability'],
  ['tool', 'uses', 'attack-pattern'],
];

const VERBS = new Map(RULES.map(([source, verb, target]) => [`${source} ${target}`, verb]));

export interface Linked {
  id: string;
  object_marking_refs: readonly string[];
}

export interface RelationshipContext {
  author: Identity;
  /** When the association was made, as a STIX timestamp. */
  at: string;
}

const stixTypeOf = (id: string): string => id.slice(0, id.indexOf('--'));

/** The verb and direction for two objects: the pair as OpenCTI reads it, else `related-to`. */
export function relationshipTypeBetween(a: string, b: string): { type: string; source: 'a' | 'b' } {
  const forward = VERBS.get(`${stixTypeOf(a)} ${stixTypeOf(b)}`);
  if (forward !== undefined) return { type: forward, source: 'a' };
  const backward = VERBS.get(`${stixTypeOf(b)} ${stixTypeOf(a)}`);
  if (backward !== undefined) return { type: backward, source: 'b' };
  return { type: 'related-to', source: 'a' };
}

/** The relationship between two linked objects, marked as the more restrictive of the two. */
export function relationshipBetween(
  a: Linked,
  b: Linked,
  context: RelationshipContext,
): Relationship {
  const { type, source } = relationshipTypeBetween(a.id, b.id);
  const [from, to] = source === 'a' ? [a, b] : [b, a];
  return {
    type: 'relationship',
    spec_version: '2.1',
    id: relationshipId(type, from.id, to.id),
    created: context.at,
    modified: context.at,
    created_by_ref: context.author.id,
    relationship_type: type,
    source_ref: from.id,
    target_ref: to.id,
    object_marking_refs: [strictestMarking([...a.object_marking_refs, ...b.object_marking_refs])],
  };
}

/** The most restrictive TLP marking among `ids` (all of them TLP markings). */
function strictestMarking(ids: readonly string[]) {
  const levels = TLP_LEVELS.filter((tlp) => ids.includes(TLP_MARKING_IDS[tlp]));
  const strictest = levels.at(-1);
  if (strictest === undefined) throw new RangeError(`no TLP marking among ${ids.join(', ')}`);
  return TLP_MARKING_IDS[strictest];
}
