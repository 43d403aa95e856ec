import type { ActorMapping } from '../model-types';
import { incidentId, mitreObjectId, namedObjectId, reportId, threatActorId } from '../stix/ids';
import type {
  AttackPattern,
  Campaign,
  Incident,
  IntrusionSet,
  Malware,
  ModelObject,
  Report,
  ThreatActor,
  Tool,
  Vulnerability,
} from '../stix/knowledge-types';
import { TLP_MARKING_IDS, parseTlp, type Tlp } from '../stix/markings';
import { parseTimestamp, stixTimestamp, stixTimestampOf } from '../stix/timestamps';
import type { Identity } from '../stix/types';
import type { ThreatModel } from '../threatstream/model-schema';
import { markdownOf } from './markdown';

/** ThreatStream threat models as STIX objects, with the ids pycti and the platform compute. */

export interface ModelMappingOptions {
  author: Identity;
  /** Marking of models whose own `tlp` is absent or unreadable. */
  defaultTlp: Tlp;
  /** ThreatStream UI base URL, for the link back to the model. */
  uiUrl: string;
  actorAs: ActorMapping;
}

export type MappingResult<T> = { ok: true; object: T } | { ok: false; detail: string };

const SOURCE_NAME = 'Anomali ThreatStream';
const CVE = /\bCVE-\d{4}-\d{4,}\b/i;
const ATTACK_TECHNIQUE = /\bT\d{4}(?:\.\d{3})?\b/;
const ATTACK_TECHNIQUE_URL = /\/techniques\/(T\d{4})(?:\/(\d{3}))?/;

type Compact<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/** The object without its undefined properties: optional STIX properties are absent, never null. */
function compact<T extends Record<string, unknown>>(object: T): Compact<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value;
  return out as Compact<T>;
}

const nonEmpty = <T>(list: readonly T[]): T[] | undefined =>
  list.length > 0 ? [...list] : undefined;

/** Every model's marking, as its own TLP says or the configured default. */
export function modelTlp(model: ThreatModel, defaultTlp: Tlp): Tlp {
  return parseTlp(model.tlp) ?? defaultTlp;
}

/** The properties every model's object has, or why the model cannot become one. */
function basicsOf(model: ThreatModel, options: ModelMappingOptions) {
  const created = parseTimestamp(model.created_ts);
  if (created === undefined) return `created_ts ${JSON.stringify(model.created_ts)} is unreadable`;
  const modified = Math.max(created, parseTimestamp(model.modified_ts) ?? created);
  const text = model.type === 'tipreport' ? model.body : model.description;
  return {
    spec_version: '2.1' as const,
    created: stixTimestamp(created),
    modified: stixTimestamp(modified),
    created_by_ref: options.author.id,
    name: model.name,
    ...compact({
      description: markdownOf(text, model.body_content_type),
      labels: nonEmpty(labelsOf(model)),
    }),
    external_references: referencesOf(model, options.uiUrl),
    object_marking_refs: [TLP_MARKING_IDS[modelTlp(model, options.defaultTlp)]],
  };
}

type Basics = Exclude<ReturnType<typeof basicsOf>, string>;

/** Tag names, first spelling kept among case variants; tags private to their owner left out. */
function labelsOf(model: ThreatModel): string[] {
  const privateTags = new Set(
    (model.tags_v2 ?? []).flatMap((tag) => (tag?.tlp?.toLowerCase() === 'red' ? [tag.name] : [])),
  );
  const seen = new Set<string>();
  return model.tags.flatMap((tag) => {
    const label = tag.trim();
    const key = label.toLowerCase();
    if (label === '' || privateTags.has(tag) || seen.has(key)) return [];
    seen.add(key);
    return [label];
  });
}

/** The model's page in the ThreatStream UI first, then the references the model cites. */
function referencesOf(model: ThreatModel, uiUrl: string) {
  const path = model.type === 'tipreport' ? 'tip' : model.type;
  const own = {
    source_name: SOURCE_NAME,
    external_id: model.id,
    url: `${uiUrl.replace(/\/+$/, '')}/${path}/${model.id}`,
  };
  const cited = (model.external_references ?? []).flatMap((reference) => {
    const url = reference?.url?.trim();
    if (!url || !URL.canParse(url) || !/^https?:/i.test(url)) return [];
    return [{ source_name: reference?.title?.trim() || new URL(url).hostname, url }];
  });
  return [own, ...cited];
}

function killChainPhasesOf(model: ThreatModel) {
  const phases = Object.entries(model.kill_chain_phases ?? {}).flatMap(([chain, names]) =>
    names.map((phase) => ({ kill_chain_name: chain, phase_name: phase })),
  );
  return nonEmpty(phases);
}

/** The ATT&CK technique a model names in its name, an alias or a reference to attack.mitre.org. */
export function mitreIdOf(model: ThreatModel): string | undefined {
  for (const text of [model.name, ...model.aliases]) {
    const match = ATTACK_TECHNIQUE.exec(text);
    if (match) return match[0];
  }
  for (const reference of model.external_references ?? []) {
    const match = ATTACK_TECHNIQUE_URL.exec(reference?.url ?? '');
    if (match) return match[2] ? `${match[1]}.${match[2]}` : match[1];
  }
  return undefined;
}

function actorOf(model: ThreatModel, basics: Basics, actorAs: ActorMapping) {
  const common = compact({
    aliases: nonEmpty(model.aliases),
    first_seen: stixTimestampOf(model.start_date),
  });
  if (actorAs === 'intrusion-set') {
    const id = namedObjectId('intrusion-set', model.name);
    return { type: 'intrusion-set', id, ...basics, ...common } satisfies IntrusionSet;
  }
  return {
    type: 'threat-actor',
    id: threatActorId(model.name, 'Threat-Actor-Group'),
    ...basics,
    ...common,
    ...compact({
      threat_actor_types: nonEmpty(model.threat_actor_types),
      sophistication: model.soph_type?.display_name.trim().toLowerCase() || undefined,
    }),
    x_opencti_type: 'Threat-Actor-Group',
  } satisfies ThreatActor;
}

function intrusionSetOf(model: ThreatModel, basics: Basics): IntrusionSet {
  const id = namedObjectId('intrusion-set', model.name);
  return { type: 'intrusion-set', id, ...basics, ...compact({ aliases: nonEmpty(model.aliases) }) };
}

function campaignOf(model: ThreatModel, basics: Basics): Campaign {
  return {
    type: 'campaign',
    id: namedObjectId('campaign', model.name),
    ...basics,
    ...compact({
      first_seen: stixTimestampOf(model.start_date),
      last_seen: stixTimestampOf(model.end_date),
      aliases: nonEmpty(model.aliases),
      objective: model.objective?.trim() || undefined,
    }),
  };
}

function malwareOf(model: ThreatModel, basics: Basics): Malware {
  return {
    type: 'malware',
    id: namedObjectId('malware', model.name),
    ...basics,
    ...compact({
      first_seen: stixTimestampOf(model.first_seen),
      last_seen: stixTimestampOf(model.last_seen),
    }),
    // STIX requires it; a ThreatStream malware entry without it is most often a family.
    is_family: model.is_family ?? true,
    ...compact({
      malware_types: nonEmpty(model.malware_types),
      aliases: nonEmpty(model.aliases),
      implementation_languages: nonEmpty(model.implementation_languages),
      capabilities: nonEmpty(model.capabilities),
      kill_chain_phases: killChainPhasesOf(model),
    }),
  };
}

function vulnerabilityOf(model: ThreatModel, basics: Basics): Vulnerability {
  const name = CVE.exec(model.name)?.[0].toUpperCase() ?? model.name;
  const score = model.cvss3_score ?? undefined;
  return {
    type: 'vulnerability',
    id: namedObjectId('vulnerability', name),
    ...basics,
    name,
    ...compact({
      x_opencti_cvss_base_score:
        score !== undefined && score >= 0 && score <= 10 ? score : undefined,
    }),
  };
}

function attackPatternOf(model: ThreatModel, basics: Basics): AttackPattern {
  const mitreId = mitreIdOf(model);
  return {
    type: 'attack-pattern',
    id:
      mitreId === undefined
        ? namedObjectId('attack-pattern', model.name)
        : mitreObjectId('attack-pattern', mitreId),
    ...basics,
    ...compact({
      aliases: nonEmpty(model.aliases),
      x_mitre_id: mitreId,
      kill_chain_phases: killChainPhasesOf(model),
    }),
  };
}

function toolOf(model: ThreatModel, basics: Basics): Tool {
  return {
    type: 'tool',
    id: namedObjectId('tool', model.name),
    ...basics,
    ...compact({
      aliases: nonEmpty(model.aliases),
      tool_types: nonEmpty(model.tool_types),
      tool_version: model.tool_version?.trim() || undefined,
      kill_chain_phases: killChainPhasesOf(model),
    }),
  };
}

function incidentOf(model: ThreatModel, basics: Basics): Incident {
  return {
    type: 'incident',
    id: incidentId(model.name, basics.created),
    ...basics,
    ...compact({
      first_seen: stixTimestampOf(model.start_date),
      last_seen: stixTimestampOf(model.end_date),
    }),
  };
}

/** The object of a model; a bulletin becomes a report instead (see `reportOf`). */
export function modelObjectOf(
  model: ThreatModel,
  options: ModelMappingOptions,
): MappingResult<ModelObject> {
  const basics = basicsOf(model, options);
  if (typeof basics === 'string') return { ok: false, detail: basics };
  const object = objectOf(model, basics, options.actorAs);
  return object === undefined
    ? { ok: false, detail: 'a bulletin maps to a report' }
    : { ok: true, object };
}

function objectOf(
  model: ThreatModel,
  basics: Basics,
  actorAs: ActorMapping,
): ModelObject | undefined {
  switch (model.type) {
    case 'tipreport':
      return undefined;
    case 'actor':
      return actorOf(model, basics, actorAs);
    case 'intrusionset':
      return intrusionSetOf(model, basics);
    case 'campaign':
      return campaignOf(model, basics);
    case 'malware':
      return malwareOf(model, basics);
    case 'vulnerability':
      return vulnerabilityOf(model, basics);
    case 'attackpattern':
    case 'ttp':
      return attackPatternOf(model, basics);
    case 'tool':
      return toolOf(model, basics);
    case 'incident':
      return incidentOf(model, basics);
  }
}

/**
 * A bulletin as a report of what it references. STIX wants at least one reference: a bulletin
 * that links to nothing the connector imports references its author.
 */
export function reportOf(
  model: ThreatModel,
  objectRefs: readonly string[],
  options: ModelMappingOptions,
): MappingResult<Report> {
  const basics = basicsOf(model, options);
  if (typeof basics === 'string') return { ok: false, detail: basics };
  const published = stixTimestampOf(model.published_ts) ?? basics.created;
  const report: Report = {
    type: 'report',
    id: reportId(model.name, published),
    ...basics,
    report_types: ['threat-report'],
    published,
    object_refs: objectRefs.length > 0 ? [...objectRefs] : [options.author.id],
  };
  return { ok: true, object: report };
}
