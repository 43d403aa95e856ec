import { describe, expect, it } from '@jest/globals';
import { authorIdentity } from '../../src/stix/author';
import { namedObjectId, threatActorId } from '../../src/stix/ids';
import { TLP_MARKING_IDS } from '../../src/stix/markings';
import { stixObjectSchema } from '../../src/stix/types';
import { relationshipBetween, relationshipTypeBetween } from '../../src/threatmodel/relationships';

const AUTHOR = authorIdentity('Anomali ThreatStream');
const AT = '2024-05-05T08:21:06.990Z';
const INDICATOR = 'indicator--16310a9a-d0fd-5712-8f1b-29ce391af07c';
const INTRUSION_SET = namedObjectId('intrusion-set', 'Ember Lynx');
const THREAT_ACTOR = threatActorId('Ember Lynx', 'Threat-Actor-Group');
const CAMPAIGN = namedObjectId('campaign', 'Operation Ghost Ledger');
const MALWARE = namedObjectId('malware', 'PaleLoader');
const OTHER_MALWARE = namedObjectId('malware', 'Emotet');
const VULNERABILITY = namedObjectId('vulnerability', 'CVE-2024-3400');
const TOOL = namedObjectId('tool', 'Mimikatz');
const ATTACK_PATTERN = namedObjectId('attack-pattern', 'Spearphishing Attachment');
const INCIDENT = 'incident--213565c0-c263-5473-92b5-85a5fa0d2768';

const linked = (id: string, tlp: keyof typeof TLP_MARKING_IDS = 'amber') => ({
  id,
  object_marking_refs: [TLP_MARKING_IDS[tlp]],
});

describe('the verb of an association', () => {
  it.each([
    [INDICATOR, MALWARE, 'indicates', 'a'],
    [INDICATOR, VULNERABILITY, 'indicates', 'a'],
    [INDICATOR, INCIDENT, 'indicates', 'a'],
    [MALWARE, INTRUSION_SET, 'uses', 'b'],
    [INTRUSION_SET, VULNERABILITY, 'targets', 'a'],
    [THREAT_ACTOR, TOOL, 'uses', 'a'],
    [INTRUSION_SET, CAMPAIGN, 'attributed-to', 'b'],
    // OpenCTI has no threat-actor → intrusion-set verb: the intrusion set is attributed to the actor.
    [THREAT_ACTOR, INTRUSION_SET, 'attributed-to', 'b'],
    [INCIDENT, CAMPAIGN, 'attributed-to', 'a'],
    [VULNERABILITY, MALWARE, 'exploits', 'b'],
    [TOOL, ATTACK_PATTERN, 'uses', 'a'],
    [MALWARE, OTHER_MALWARE, 'related-to', 'a'],
    [VULNERABILITY, ATTACK_PATTERN, 'related-to', 'a'],
  ])('between %s and %s is %s from %s', (a, b, type, source) => {
    expect(relationshipTypeBetween(a, b)).toEqual({ type, source });
  });
});

describe('a relationship', () => {
  it('has the id pycti computes, whichever side the association was read from', () => {
    const expected = 'relationship--ae2e9b78-1327-5e0f-831a-31a1701bf1d7';
    const context = { author: AUTHOR, at: AT };
    const fromCampaign = relationshipBetween(linked(CAMPAIGN), linked(INTRUSION_SET), context);
    const fromActor = relationshipBetween(linked(INTRUSION_SET), linked(CAMPAIGN), context);
    expect(fromCampaign).toEqual(fromActor);
    expect(fromCampaign).toEqual({
      type: 'relationship',
      spec_version: '2.1',
      id: expected,
      created: AT,
      modified: AT,
      created_by_ref: AUTHOR.id,
      relationship_type: 'attributed-to',
      source_ref: CAMPAIGN,
      target_ref: INTRUSION_SET,
      object_marking_refs: [TLP_MARKING_IDS.amber],
    });
    expect(stixObjectSchema.safeParse(fromCampaign).success).toBe(true);
  });

  it('is marked as the more restrictive of its two ends', () => {
    const context = { author: AUTHOR, at: AT };
    const relationship = relationshipBetween(
      linked(INDICATOR, 'red'),
      linked(MALWARE, 'green'),
      context,
    );
    expect(relationship.object_marking_refs).toEqual([TLP_MARKING_IDS.red]);
    const loose = relationshipBetween(
      linked(INDICATOR, 'clear'),
      linked(MALWARE, 'green'),
      context,
    );
    expect(loose.object_marking_refs).toEqual([TLP_MARKING_IDS.green]);
  });
});
