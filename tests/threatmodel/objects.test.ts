import { describe, expect, it } from '@jest/globals';
import { authorIdentity } from '../../src/stix/author';
import { TLP_MARKING_IDS } from '../../src/stix/markings';
import { stixObjectSchema } from '../../src/stix/types';
import { modelObjectOf, reportOf, type ModelMappingOptions } from '../../src/threatmodel/objects';
import { isPublished } from '../../src/threatstream/model-schema';
import {
  ACTOR,
  ATTACK_PATTERN,
  BULLETIN,
  CAMPAIGN,
  INCIDENT,
  MALWARE,
  TOOL,
  VULNERABILITY,
  threatModel,
} from './models';

const AUTHOR = authorIdentity('Anomali ThreatStream');
const OPTIONS: ModelMappingOptions = {
  author: AUTHOR,
  defaultTlp: 'amber',
  uiUrl: 'https://ui.threatstream.com/',
  actorAs: 'intrusion-set',
};

function objectOf(type: Parameters<typeof threatModel>[0], raw: object, options = OPTIONS) {
  const result = modelObjectOf(threatModel(type, raw), options);
  if (!result.ok) throw new Error(result.detail);
  expect(stixObjectSchema.safeParse(result.object).error?.issues).toBeUndefined();
  return result.object;
}

describe('a bulletin', () => {
  const bulletin = threatModel('tipreport', BULLETIN);
  const refs = ['malware--3284105d-e50d-50a3-afeb-462beb75bb26'];

  it('becomes a threat report with the id pycti gives it and its body as markdown', () => {
    const result = reportOf(bulletin, refs, OPTIONS);
    if (!result.ok) throw new Error(result.detail);
    expect(stixObjectSchema.safeParse(result.object).error?.issues).toBeUndefined();
    expect(result.object).toMatchObject({
      id: 'report--6c9d277b-f51f-50c7-937f-b72b19450673',
      name: BULLETIN.name,
      report_types: ['threat-report'],
      published: '2024-05-02T09:15:00.512Z',
      created: '2024-05-02T09:14:58.413Z',
      modified: '2024-05-06T11:02:41.907Z',
      object_refs: refs,
      created_by_ref: AUTHOR.id,
      object_marking_refs: [TLP_MARKING_IDS.amber],
      external_references: [
        {
          source_name: 'Anomali ThreatStream',
          external_id: '3158420',
          url: 'https://ui.threatstream.com/tip/3158420',
        },
      ],
    });
    expect(result.object.description).toBe(
      '## Summary\n\nPaleLoader is delivered through **invoice** lures from `invoice-portal-sync[.]com`.\n\n-   Initial access: T1566.001',
    );
  });

  it('leaves out the tags private to their organisation', () => {
    const result = reportOf(bulletin, refs, OPTIONS);
    expect(result.ok && result.object.labels).toEqual(['PaleLoader', 'phishing']);
  });

  it('keeps a markdown body as written', () => {
    const markdown = { ...BULLETIN, body_content_type: 'markdown', body: '### Email\n<b>kept</b>' };
    const result = reportOf(threatModel('tipreport', markdown), refs, OPTIONS);
    expect(result.ok && result.object.description).toBe('### Email\n<b>kept</b>');
  });

  it('references its author when it links to nothing, as STIX requires a reference', () => {
    const result = reportOf(bulletin, [], OPTIONS);
    expect(result.ok && result.object.object_refs).toEqual([AUTHOR.id]);
  });

  it('is published when its status says so; other models say it in publication_status', () => {
    expect(isPublished(bulletin)).toBe(true);
    expect(isPublished(threatModel('tipreport', { ...BULLETIN, status: 'reviewed' }))).toBe(false);
    expect(isPublished(threatModel('actor', ACTOR))).toBe(true);
    expect(isPublished(threatModel('actor', { ...ACTOR, publication_status: 'new' }))).toBe(false);
  });

  it('is no model object', () => {
    expect(modelObjectOf(bulletin, OPTIONS)).toEqual({
      ok: false,
      detail: 'a bulletin maps to a report',
    });
  });
});

describe('an actor', () => {
  it('becomes an intrusion set by default, with aliases, first seen and references', () => {
    expect(objectOf('actor', ACTOR)).toMatchObject({
      type: 'intrusion-set',
      id: 'intrusion-set--96b8cc89-f5a2-5d51-a6fc-0ac96e6d9e72',
      aliases: ['Lynx Group', 'TA-EL'],
      first_seen: '2022-03-01T00:00:00.000Z',
      description: 'Financially motivated activity deploying **PaleLoader**.',
      labels: ['eCrime'],
      object_marking_refs: [TLP_MARKING_IDS.green],
      external_references: [
        {
          source_name: 'Anomali ThreatStream',
          external_id: '51177',
          url: 'https://ui.threatstream.com/actor/51177',
        },
        { source_name: 'Vendor write-up', url: 'https://blog.example.net/ember-lynx' },
      ],
    });
  });

  it('becomes a threat actor group with ANOMALI_ACTOR_AS=threat-actor', () => {
    expect(objectOf('actor', ACTOR, { ...OPTIONS, actorAs: 'threat-actor' })).toMatchObject({
      type: 'threat-actor',
      id: 'threat-actor--b043d1dd-bbde-592c-b58c-418ab1d0ecd1',
      sophistication: 'innovator',
      x_opencti_type: 'Threat-Actor-Group',
    });
  });
});

describe('the other models', () => {
  it('map a campaign with its dates and its AMBER+STRICT marking', () => {
    expect(objectOf('campaign', CAMPAIGN)).toMatchObject({
      type: 'campaign',
      id: 'campaign--f00f3377-89ee-5b04-b144-51ee6a4bcba2',
      first_seen: '2024-03-25T00:00:00.000Z',
      object_marking_refs: [TLP_MARKING_IDS['amber+strict']],
    });
  });

  it('map a malware family with its vocabulary and kill chain', () => {
    const malware = objectOf('malware', MALWARE);
    expect(malware).toMatchObject({
      type: 'malware',
      id: 'malware--3284105d-e50d-50a3-afeb-462beb75bb26',
      is_family: true,
      malware_types: ['downloader'],
      aliases: ['Pale Loader'],
      implementation_languages: ['c++'],
      first_seen: '2023-09-28T00:00:00.000Z',
      kill_chain_phases: [
        { kill_chain_name: 'lockheed-martin', phase_name: 'delivery' },
        { kill_chain_name: 'lockheed-martin', phase_name: 'installation' },
      ],
    });
    expect(malware).not.toHaveProperty('capabilities');
    expect(malware).not.toHaveProperty('last_seen');
  });

  it('name a vulnerability by its CVE id, with the CVSS 3 score', () => {
    const named = { ...VULNERABILITY, name: 'cve-2024-3400 (PAN-OS GlobalProtect)' };
    expect(objectOf('vulnerability', named)).toMatchObject({
      id: 'vulnerability--e74825ea-54e6-5e31-92f9-a991838a0932',
      name: 'CVE-2024-3400',
      x_opencti_cvss_base_score: 10,
      object_marking_refs: [TLP_MARKING_IDS.clear],
    });
  });

  it('identify an attack pattern by its ATT&CK id when it has one, by its name otherwise', () => {
    expect(objectOf('attackpattern', ATTACK_PATTERN)).toMatchObject({
      id: 'attack-pattern--6b3d6efe-0d48-5d0d-875a-086b0d02d110',
      x_mitre_id: 'T1566.001',
      object_marking_refs: [TLP_MARKING_IDS.amber],
    });
    const ttp = { ...ATTACK_PATTERN, name: 'T1059.001 PowerShell', external_references: [] };
    expect(objectOf('ttp', ttp)).toMatchObject({
      id: 'attack-pattern--5a9d0c10-3eab-5b54-9d30-d9ae590d238b',
      x_mitre_id: 'T1059.001',
    });
    const unnumbered = { ...ATTACK_PATTERN, external_references: [] };
    const pattern = objectOf('ttp', unnumbered);
    expect(pattern.id).toBe('attack-pattern--70166673-00f0-5946-a641-b0b502ea6f5b');
    expect(pattern).not.toHaveProperty('x_mitre_id');
  });

  it('map a tool and an incident, the incident identified by name and creation', () => {
    expect(objectOf('tool', TOOL)).toMatchObject({
      id: 'tool--dae20ca4-ebdf-5248-83ac-0f7a52f94fcc',
      tool_types: ['credential-exploitation'],
      tool_version: '2.2.0',
      object_marking_refs: [TLP_MARKING_IDS.clear],
    });
    expect(objectOf('incident', INCIDENT)).toMatchObject({
      id: 'incident--213565c0-c263-5473-92b5-85a5fa0d2768',
      created: '2019-12-11T07:12:16.022Z',
      first_seen: '2019-12-10T00:00:00.000Z',
      last_seen: '2019-12-12T00:00:00.000Z',
      object_marking_refs: [TLP_MARKING_IDS.red],
    });
  });

  it('refuse a model whose creation time cannot be read', () => {
    const result = modelObjectOf(
      threatModel('tool', { ...TOOL, created_ts: 'yesterday' }),
      OPTIONS,
    );
    expect(result).toEqual({ ok: false, detail: 'created_ts "yesterday" is unreadable' });
  });

  it('never claim a change before the creation', () => {
    const early = { ...TOOL, modified_ts: '2020-01-01T00:00:00.000000' };
    const tool = objectOf('tool', early);
    expect(tool.modified).toBe(tool.created);
  });
});
