import type { ModelType } from '../../src/model-types';
import { modelRecordSchema, type ThreatModel } from '../../src/threatstream/model-schema';

/**
 * Threat-model detail objects in the shapes ThreatStream returns (naive UTC timestamps with
 * microseconds, tags as strings plus tags_v2, aliases as objects), with invented values.
 */

export const BULLETIN = {
  id: 3158420,
  name: 'PaleLoader resurfaces in invoice-themed phishing',
  status: 'published',
  body_content_type: 'richtext',
  body: '<h2>Summary</h2><p>PaleLoader is delivered through <b>invoice</b> lures from <code>invoice-portal-sync[.]com</code>.</p><ul><li>Initial access: T1566.001</li></ul><script>track()</script>',
  description: '',
  created_ts: '2024-05-02T09:14:58.413207',
  modified_ts: '2024-05-06T11:02:41.907316',
  published_ts: '2024-05-02T09:15:00.512884',
  tlp: 'amber',
  tags: ['PaleLoader', 'phishing', 'internal-only'],
  tags_v2: [
    { id: 'k7q', name: 'PaleLoader', tlp: 'white' },
    { id: 'c2m', name: 'phishing' },
    { id: 'r3d', name: 'internal-only', tlp: 'red' },
  ],
};

export const ACTOR = {
  id: 51177,
  name: 'Ember Lynx',
  publication_status: 'published',
  aliases: [
    { id: 9021, name: 'Lynx Group', resource_uri: '/api/v1/actoralias/9021/' },
    { id: 9022, name: 'TA-EL', resource_uri: '/api/v1/actoralias/9022/' },
  ],
  body_content_type: 'richtext',
  description: '<p>Financially motivated activity deploying <b>PaleLoader</b>.</p>',
  created_ts: '2023-11-20T16:40:12.004512',
  modified_ts: '2024-05-05T08:21:07.118020',
  published_ts: '2023-11-20T16:41:00.000319',
  start_date: '2022-03-01T00:00:00',
  soph_type: { display_name: 'Innovator', id: 1, value: 'I' },
  threat_actor_types: null,
  tlp: 'green',
  tags: ['eCrime'],
  tags_v2: [{ id: 'x1v', name: 'eCrime' }],
  external_references: [
    {
      id: 55120,
      r_type: 'U',
      title: 'Vendor write-up',
      url: 'https://blog.example.net/ember-lynx',
    },
  ],
};

export const CAMPAIGN = {
  id: 247391,
  name: 'Operation Ghost Ledger',
  publication_status: 'published',
  created_ts: '2024-04-18T10:12:03.500001',
  modified_ts: '2024-05-01T19:44:10.250000',
  start_date: '2024-03-25T00:00:00',
  end_date: null,
  objective: null,
  status: { display_name: 'Ongoing', id: 1, resource_uri: '/api/v1/campaignstatus/1/' },
  tags: [],
  tags_v2: [],
  tlp: 'amber+strict',
};

export const MALWARE = {
  id: 88241,
  name: 'PaleLoader',
  publication_status: 'published',
  aliases: [{ id: 3310, name: 'Pale Loader', resource_uri: '/api/v1/malwarealias/3310/' }],
  body_content_type: 'richtext',
  description: '<p>Loader written in C++ that stages encrypted payloads.</p>',
  created_ts: '2023-10-02T14:00:05.700321',
  modified_ts: '2024-05-02T09:16:20.110870',
  first_seen: '2023-09-28T00:00:00',
  last_seen: null,
  is_family: true,
  malware_types: ['downloader'],
  implementation_languages: ['c++'],
  capabilities: [],
  kill_chain_phases: { 'lockheed-martin': ['delivery', 'installation'] },
  tags: ['PaleLoader'],
  tlp: 'amber',
  association_info: [{ comment: null, created: '2024-05-02T09:16:20.004418', from_id: 3158420 }],
};

export const VULNERABILITY = {
  id: 93326,
  name: 'CVE-2024-3400',
  publication_status: 'published',
  created_ts: '2024-04-12T06:30:10.881233',
  modified_ts: '2024-05-04T12:00:01.000042',
  cvss2_score: null,
  cvss3_score: 10.0,
  tags: ['KEV'],
  tlp: 'clear',
};

export const ATTACK_PATTERN = {
  id: 7001,
  name: 'Spearphishing Attachment',
  publication_status: 'published',
  created_ts: '2024-01-02T00:00:00.000000',
  modified_ts: '2024-01-02T00:00:00.000000',
  external_references: [
    { title: 'MITRE ATT&CK', url: 'https://attack.mitre.org/techniques/T1566/001/' },
  ],
  tlp: null,
};

export const TOOL = {
  id: 6601,
  name: 'Mimikatz',
  publication_status: 'published',
  created_ts: '2022-06-01T08:00:00.000000',
  modified_ts: '2024-02-01T08:00:00.000000',
  tool_types: ['credential-exploitation'],
  tool_version: '2.2.0',
  kill_chain_phases: { 'lockheed-martin': ['actions-on-objectives'] },
  tlp: 'white',
};

export const INCIDENT = {
  id: 4410,
  name: 'Ransomware at branch office',
  publication_status: 'published',
  created_ts: '2019-12-11T07:12:16.022451',
  modified_ts: '2020-01-05T10:00:00.000000',
  start_date: '2019-12-10T00:00:00',
  end_date: '2019-12-12T00:00:00',
  status: { display_name: 'New', id: 1 },
  tlp: 'red',
};

/** A detail object read by the connector's own schema, as the client hands it on. */
export function threatModel(type: ModelType, raw: object): ThreatModel {
  return { ...modelRecordSchema.parse(raw), type };
}
