import { ATTACK_PATTERN_IDS, type SimulatedModel } from './models';

/**
 * The simulator's models as ThreatStream writes them: search objects with `+00:00` timestamps
 * and tag objects, detail objects with naive UTC timestamps, tag names plus `tags_v2`, alias
 * objects, and the fields of each type.
 */

type Json = Record<string, unknown>;

/** ThreatStream's microseconds: three more digits after the milliseconds, from the id. */
function naive(millis: number, id: number): string {
  return `${new Date(millis).toISOString().slice(0, 23)}${String(id % 1000).padStart(3, '0')}`;
}

const withOffset = (millis: number, id: number) => `${naive(millis, id)}+00:00`;

function tagsOf(model: SimulatedModel): Json[] {
  const tags: Json[] = [
    { id: `t${model.id % 97}`, name: model.type === 'malware' ? model.name : 'eCrime' },
  ];
  if (model.id % 5 === 0) tags.push({ id: 'r3d', name: 'internal-only', tlp: 'red', org_id: 4102 });
  return tags;
}

export function searchObjectOf(model: SimulatedModel): Json {
  return {
    id: model.id,
    model_type: model.type,
    name: model.name,
    aliases: [],
    created_ts: withOffset(model.createdMs, model.id),
    modified_ts: withOffset(model.modifiedMs, model.id),
    published_ts: model.published ? withOffset(model.createdMs + 60_000, model.id) : null,
    publication_status: model.published ? 'published' : 'reviewed',
    tlp: model.tlp,
    tags: tagsOf(model),
    feed_id: 0,
    is_public: model.published,
    resource_uri: `/api/v1/${model.type}/${model.id}/`,
    sort: [model.modifiedMs, `${model.type}-${model.id}`],
    uuid: null,
  };
}

export function detailOf(model: SimulatedModel): Json {
  const tags = tagsOf(model);
  const common: Json = {
    id: model.id,
    name: model.name,
    created_ts: naive(model.createdMs, model.id),
    modified_ts: naive(model.modifiedMs, model.id),
    published_ts: model.published ? naive(model.createdMs + 60_000, model.id) : null,
    tlp: model.tlp,
    tags: tags.map((tag) => tag.name),
    tags_v2: tags,
    body_content_type: 'richtext',
    description: `<p>${model.name}: analyst notes with <b>context</b>.</p>`,
    external_references: [],
    feed_id: 0,
    circles: [],
    is_public: model.published,
    organization_id: 4102,
    resource_uri: `/api/v1/${model.type}/${model.id}/`,
  };
  if (model.type === 'tipreport') return { ...common, ...bulletinFields(model) };
  return {
    ...common,
    publication_status: model.published ? 'published' : 'reviewed',
    ...typeFields(model),
  };
}

function bulletinFields(model: SimulatedModel): Json {
  return {
    status: model.published ? 'published' : 'new',
    description: '',
    body: `<h2>Summary</h2><p>${model.name}.</p><ul><li>Initial access: T1566.001</li></ul>`,
    source: 'Example CTI Team research',
    campaign: null,
    threat_actor: null,
    ttp: null,
  };
}

const aliases = (model: SimulatedModel, kind: string) => [
  {
    id: model.id * 10,
    name: `${model.name} alias`,
    resource_uri: `/api/v1/${kind}alias/${model.id * 10}/`,
  },
];

type Day = (offsetDays: number) => string;

/** The fields particular to each type, as its detail shows them. */
const TYPE_FIELDS: Record<SimulatedModel['type'], (model: SimulatedModel, day: Day) => Json> = {
  tipreport: () => ({}),
  actor: (model, day) => ({
    aliases: aliases(model, 'actor'),
    start_date: day(-30),
    soph_type: { display_name: 'Innovator', id: 1, value: 'I' },
    is_team: true,
  }),
  campaign: (model, day) => ({
    aliases: aliases(model, 'campaign'),
    start_date: day(-10),
    end_date: null,
    objective: 'Financial gain',
    status: { display_name: 'Ongoing', id: 1 },
  }),
  malware: (model, day) => ({
    aliases: aliases(model, 'malware'),
    is_family: true,
    malware_types: ['downloader'],
    implementation_languages: ['c++'],
    kill_chain_phases: { 'lockheed-martin': ['delivery'] },
    first_seen: day(-5),
    last_seen: null,
  }),
  vulnerability: (model) => ({
    cvss2_score: null,
    cvss3_score: 9.8,
    update_id: String(model.id * 7),
  }),
  attackpattern: (model) => attackPatternFields(model),
  ttp: () => ({ is_mitre: true, killchain_stages: [] }),
  intrusionset: (model) => ({ aliases: aliases(model, 'intrusionset') }),
  tool: () => ({
    tool_types: ['credential-exploitation'],
    tool_version: '2.2.0',
    kill_chain_phases: { 'lockheed-martin': ['actions-on-objectives'] },
  }),
  incident: (_model, day) => ({
    status: { display_name: 'New', id: 1 },
    start_date: day(-2),
    end_date: day(-1),
  }),
  signature: () => ({
    s_type: { display_name: 'YARA', id: 9, value: 'YARA' },
    notes: 'rule X { condition: true }',
  }),
};

function typeFields(model: SimulatedModel): Json {
  const day: Day = (offsetDays) => naive(model.createdMs + offsetDays * 86_400_000, 0).slice(0, 19);
  return TYPE_FIELDS[model.type](model, day);
}

function attackPatternFields(model: SimulatedModel): Json {
  const mitreId = ATTACK_PATTERN_IDS[model.name];
  if (mitreId === undefined) return {};
  const path = mitreId.replace('.', '/');
  return {
    external_references: [
      {
        id: model.id,
        r_type: 'U',
        title: 'MITRE ATT&CK',
        url: `https://attack.mitre.org/techniques/${path}/`,
      },
    ],
  };
}

/** An object of an association listing: the detail, and when and from where it was linked. */
export function associatedOf(detail: Json, fromId: number, createdMs: number): Json {
  return {
    ...detail,
    association_info: [
      { comment: null, created: naive(createdMs, fromId), from_id: fromId, sro: {} },
    ],
  };
}
