import { z } from 'zod';
import { MODEL_TYPES, type ModelType } from '../model-types';

/**
 * The fields of ThreatStream's threat-model objects that the connector uses. Decorative fields in
 * an unexpected shape read as absent rather than costing the model, as for intelligence records.
 */

/** Ids arrive as numbers or digit strings; kept as decimal strings. */
const modelId = z
  .union([
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    z.string().regex(/^\d{1,30}$/),
  ])
  .transform((v) => String(v).replace(/^0+(?=\d)/, ''));

const optionalText = z.string().nullish().catch(undefined);

/** A list of names: strings, or objects with a `name` (tags_v2, alias objects). */
const names = z
  .array(
    z
      .union([z.string(), z.looseObject({ name: z.string() }).transform((o) => o.name)])
      .nullable()
      .catch(null),
  )
  .nullish()
  .catch(undefined)
  .transform((list) => (list ?? []).filter((name): name is string => name !== null));

/** Tags as objects, for their TLP: a RED tag is private to the organisation that owns it. */
const tagObjects = z
  .array(z.looseObject({ name: z.string(), tlp: optionalText }).nullable().catch(null))
  .nullish()
  .catch(undefined);

const score = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\d+(\.\d+)?$/)
      .transform(Number),
  ])
  .nullish()
  .catch(undefined);

/** Detail and association objects: campaigns and incidents give `status` as an object. */
const status = z
  .union([z.string(), z.looseObject({ display_name: z.string() }).transform((s) => s.display_name)])
  .nullish()
  .catch(undefined);

const reference = z.looseObject({ title: optionalText, url: optionalText }).nullable().catch(null);

export const modelRecordSchema = z.object({
  id: modelId,
  name: z.string().trim().min(1),
  publication_status: optionalText,
  status,
  tlp: optionalText,
  tags: names,
  tags_v2: tagObjects,
  aliases: names,
  description: optionalText,
  body: optionalText,
  body_content_type: optionalText,
  created_ts: z.string(),
  modified_ts: z.string(),
  published_ts: optionalText,
  start_date: optionalText,
  end_date: optionalText,
  first_seen: optionalText,
  last_seen: optionalText,
  objective: optionalText,
  is_family: z.boolean().nullish().catch(undefined),
  malware_types: names,
  tool_types: names,
  tool_version: optionalText,
  implementation_languages: names,
  capabilities: names,
  threat_actor_types: names,
  soph_type: z.looseObject({ display_name: z.string() }).nullish().catch(undefined),
  kill_chain_phases: z.record(z.string(), z.array(z.string())).nullish().catch(undefined),
  cvss2_score: score,
  cvss3_score: score,
  external_references: z.array(reference).nullish().catch(undefined),
  /** On association listings: when the link was made. */
  association_info: z
    .array(z.looseObject({ created: optionalText }).nullable().catch(null))
    .nullish()
    .catch(undefined),
});

export type ModelRecord = z.output<typeof modelRecordSchema>;

/** A model as the connector knows it: its record and the type its URL names. */
export type ThreatModel = ModelRecord & { type: ModelType };

/** Whether the model is visible outside its organisation; bulletins say so in `status`. */
export function isPublished(model: ThreatModel): boolean {
  const state = model.type === 'tipreport' ? model.status : model.publication_status;
  return state?.trim().toLowerCase() === 'published';
}

/** A `threat_model_search` object: enough to decide whether the model changed. */
export const modelSummarySchema = z.object({
  id: modelId,
  model_type: z.enum(MODEL_TYPES),
  name: z.string(),
  modified_ts: z.string(),
  publication_status: optionalText,
});

export type ModelSummary = z.output<typeof modelSummarySchema>;

/** What a model's intelligence listing adds to an intelligence record, for the IOC filters. */
export const linkedIocScopeSchema = z.object({
  feed_id: z
    .union([z.number(), z.string()])
    .nullish()
    .catch(undefined)
    .transform((v) => (v === null || v === undefined ? undefined : String(v))),
  trusted_circle_ids: z
    .array(z.union([z.number(), z.string()]).transform(String))
    .nullish()
    .catch(undefined),
  association_info: z
    .array(z.looseObject({ created: optionalText }).nullable().catch(null))
    .nullish()
    .catch(undefined),
});

export type LinkedIocScope = z.output<typeof linkedIocScopeSchema>;
