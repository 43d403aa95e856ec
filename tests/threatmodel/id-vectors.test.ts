import { describe, expect, it } from '@jest/globals';
import {
  identityId,
  incidentId,
  indicatorId,
  mitreObjectId,
  namedObjectId,
  relationshipId,
  reportId,
  threatActorId,
} from '../../src/stix/ids';

/**
 * The test vectors of the threat-model reference (§4.3), computed with pycti's algorithm and
 * cross-checked in Python: each id the connector computes must be the one pycti and the
 * platform compute, or an import creates a duplicate instead of updating the entity.
 */

const DOMAIN_INDICATOR = 'indicator--16310a9a-d0fd-5712-8f1b-29ce391af07c';
const IP_INDICATOR = 'indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861';
const EMBER_LYNX = 'intrusion-set--96b8cc89-f5a2-5d51-a6fc-0ac96e6d9e72';
const PALELOADER = 'malware--3284105d-e50d-50a3-afeb-462beb75bb26';
const GHOST_LEDGER = 'campaign--f00f3377-89ee-5b04-b144-51ee6a4bcba2';
const CVE_2024_3400 = 'vulnerability--e74825ea-54e6-5e31-92f9-a991838a0932';

describe('the reference method check', () => {
  it('reproduces the protocol vectors', () => {
    expect(indicatorId("[ipv4-addr:value = '1.2.3.4']")).toBe(IP_INDICATOR);
    expect(identityId('Anomali ThreatStream', 'organization')).toBe(
      'identity--9425cc8e-8a15-50c9-963c-edd015e3df68',
    );
  });
});

describe('threat-model ids', () => {
  it.each([
    [
      'PaleLoader resurfaces in invoice-themed phishing',
      '2024-05-02T09:15:00.512Z',
      'report--6c9d277b-f51f-50c7-937f-b72b19450673',
    ],
    [
      'PaleLoader resurfaces in invoice-themed phishing',
      '2024-05-02T09:15:00.512884+00:00',
      'report--5e622211-6156-5981-845b-d0ae9e50d625',
    ],
    [
      'Exchange servers under siege from at least 10 APT groups',
      '2021-03-14T18:20:36.572Z',
      'report--873d66b8-b3ad-5953-b26f-363c5c391803',
    ],
  ])('report %j published %s', (name, published, id) => {
    expect(reportId(name, published)).toBe(id);
  });

  it.each([
    ['intrusion-set', 'Ember Lynx', EMBER_LYNX],
    ['intrusion-set', 'APT28', 'intrusion-set--f743ab1d-b2f2-58f8-975f-0993511c0b9d'],
    ['campaign', 'Operation Ghost Ledger', GHOST_LEDGER],
    ['campaign', 'Coronavirus (COVID-19)', 'campaign--419c11e8-a077-5e34-8ee8-60df0c309561'],
    ['malware', 'PaleLoader', PALELOADER],
    ['malware', 'Emotet', 'malware--36297121-bf18-56e1-b200-d39c9f9f5cee'],
    ['tool', 'Mimikatz', 'tool--dae20ca4-ebdf-5248-83ac-0f7a52f94fcc'],
    ['tool', 'BloodHound', 'tool--8817d5af-b8dd-593e-ac17-23d8a915fbd7'],
    ['vulnerability', 'CVE-2024-3400', CVE_2024_3400],
    ['vulnerability', 'CVE-2021-26855', 'vulnerability--dc374f96-51cc-5e02-8b14-2af1bdcc94d1'],
    [
      'attack-pattern',
      'Spearphishing Attachment',
      'attack-pattern--70166673-00f0-5946-a641-b0b502ea6f5b',
    ],
    [
      'infrastructure',
      'PaleLoader C2 tier 1',
      'infrastructure--9f83c490-5588-5e4d-9b67-01e2ef6b8020',
    ],
    [
      'infrastructure',
      'Bulletproof hosting AS64500',
      'infrastructure--3d4e16ae-f623-5292-b2e9-c01ada6ebbfe',
    ],
    [
      'course-of-action',
      'Block macros from the Internet',
      'course-of-action--4d19714a-ac7d-5c49-aa67-b45aea69cc85',
    ],
  ] as const)('%s named %j', (type, name, id) => {
    expect(namedObjectId(type, name)).toBe(id);
    // pycti lower-cases and trims the name before hashing it.
    expect(namedObjectId(type, `  ${name.toUpperCase()} `)).toBe(id);
  });

  it.each([
    ['Ember Lynx', 'Threat-Actor-Group', 'threat-actor--b043d1dd-bbde-592c-b58c-418ab1d0ecd1'],
    ['Fancy Bear', 'Threat-Actor-Group', 'threat-actor--3730c22c-d97f-5128-ab8b-a2a6a570dac3'],
    ['Ember Lynx', 'Threat-Actor-Individual', 'threat-actor--d9494b95-679f-52a2-8a51-3bbed6c086d7'],
  ] as const)('threat actor %j as %s', (name, kind, id) => {
    expect(threatActorId(name, kind)).toBe(id);
  });

  it.each([
    ['attack-pattern', 'T1566.001', 'attack-pattern--6b3d6efe-0d48-5d0d-875a-086b0d02d110'],
    ['attack-pattern', 'T1059.001', 'attack-pattern--5a9d0c10-3eab-5b54-9d30-d9ae590d238b'],
    ['course-of-action', 'M1049', 'course-of-action--c856e762-fe81-5774-9249-e93e6fa0d12b'],
  ] as const)('%s with ATT&CK id %s', (type, mitreId, id) => {
    expect(mitreObjectId(type, mitreId)).toBe(id);
  });

  it('trims the ATT&CK id of an attack pattern, as pycti does', () => {
    expect(mitreObjectId('attack-pattern', ' T1566.001 ')).toBe(
      'attack-pattern--6b3d6efe-0d48-5d0d-875a-086b0d02d110',
    );
  });

  it.each([
    [
      'Ransomware at branch office',
      '2019-12-11T07:12:16.022Z',
      'incident--213565c0-c263-5473-92b5-85a5fa0d2768',
    ],
    [
      'Phishing wave against finance',
      '2024-01-15T10:00:00.000Z',
      'incident--5bf53901-dd55-5219-91b3-1c93ee1d373f',
    ],
  ])('incident %j created %s', (name, created, id) => {
    expect(incidentId(name, created)).toBe(id);
  });

  it.each([
    [
      'rule PaleLoader_Dropper_Strings { strings: $a = "invoice_sync" ascii condition: $a }',
      'indicator--3643a0a2-a417-55b5-864c-59ca298e9469',
    ],
    [
      'alert tcp any any -> any 443 (msg:"PaleLoader beacon"; content:"|16 03 01|"; sid:1000001; rev:1;)',
      'indicator--49674f20-885a-5363-a0f3-e24aeb257f64',
    ],
    ["[domain-name:value = 'invoice-portal-sync.com']", DOMAIN_INDICATOR],
  ])('indicator of pattern %s', (pattern, id) => {
    expect(indicatorId(pattern)).toBe(id);
  });

  it.each([
    [
      'indicates',
      DOMAIN_INDICATOR,
      PALELOADER,
      'relationship--42dcd6f2-ae9e-5369-a309-9c331c481a20',
    ],
    ['indicates', IP_INDICATOR, EMBER_LYNX, 'relationship--ecf78d0e-137f-59a8-be0a-ade413bf018e'],
    ['uses', EMBER_LYNX, PALELOADER, 'relationship--908a9975-c459-5bbb-a184-da99de954c3e'],
    [
      'attributed-to',
      GHOST_LEDGER,
      EMBER_LYNX,
      'relationship--ae2e9b78-1327-5e0f-831a-31a1701bf1d7',
    ],
    [
      'indicates',
      DOMAIN_INDICATOR,
      CVE_2024_3400,
      'relationship--233ba788-c64a-5497-ac6b-ebc7f465210d',
    ],
  ])('relationship %s from %s to %s', (type, source, target, id) => {
    expect(relationshipId(type, source, target)).toBe(id);
  });
});
