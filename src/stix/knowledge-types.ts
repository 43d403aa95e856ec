import { z } from 'zod';
import { stixIdSchema, stixTimestampSchema } from './primitives';

/**
 * The STIX 2.1 domain objects and relationships the threat-model import emits. Strict, like the
 * indicator: a property we did not mean to send is a bug.
 */

const referenceSchema = z.strictObject({
  source_name: z.string().min(1),
  external_id: z.string().min(1).optional(),
  url: z.url().optional(),
});

const killChainPhaseSchema = z.strictObject({
  kill_chain_name: z.string().min(1),
  phase_name: z.string().min(1),
});

const words = z.array(z.string().min(1)).min(1);

const common = {
  spec_version: z.literal('2.1'),
  created: stixTimestampSchema,
  modified: stixTimestampSchema,
  created_by_ref: stixIdSchema('identity'),
  object_marking_refs: z.array(stixIdSchema('marking-definition')).min(1),
};

const described = {
  ...common,
  name: z.string().min(1),
  description: z.string().min(1).optional(),
  labels: words.optional(),
  external_references: z.array(referenceSchema).min(1),
};

const seen = {
  first_seen: stixTimestampSchema.optional(),
  last_seen: stixTimestampSchema.optional(),
};

/** Every object, like the indicator, must not claim a change before its creation. */
function chronological<T extends z.ZodObject<{ created: z.ZodType; modified: z.ZodType }>>(
  schema: T,
): T {
  return schema.refine((o) => Date.parse(o.modified as string) >= Date.parse(o.created as string), {
    error: 'modified must not be earlier than created',
    path: ['modified'],
  });
}

export const reportSchema = chronological(
  z.strictObject({
    type: z.literal('report'),
    id: stixIdSchema('report'),
    ...described,
    report_types: z.array(z.literal('threat-report')).length(1),
    published: stixTimestampSchema,
    object_refs: z.array(z.string().regex(/^[a-z][a-z0-9-]*--[0-9a-f-]{36}$/)).min(1),
  }),
);

export const intrusionSetSchema = chronological(
  z.strictObject({
    type: z.literal('intrusion-set'),
    id: stixIdSchema('intrusion-set'),
    ...described,
    aliases: words.optional(),
    first_seen: stixTimestampSchema.optional(),
  }),
);

export const threatActorSchema = chronological(
  z.strictObject({
    type: z.literal('threat-actor'),
    id: stixIdSchema('threat-actor'),
    ...described,
    aliases: words.optional(),
    first_seen: stixTimestampSchema.optional(),
    threat_actor_types: words.optional(),
    sophistication: z.string().min(1).optional(),
    x_opencti_type: z.literal('Threat-Actor-Group'),
  }),
);

export const campaignSchema = chronological(
  z.strictObject({
    type: z.literal('campaign'),
    id: stixIdSchema('campaign'),
    ...described,
    ...seen,
    aliases: words.optional(),
    objective: z.string().min(1).optional(),
  }),
);

export const malwareSchema = chronological(
  z.strictObject({
    type: z.literal('malware'),
    id: stixIdSchema('malware'),
    ...described,
    ...seen,
    is_family: z.boolean(),
    malware_types: words.optional(),
    aliases: words.optional(),
    implementation_languages: words.optional(),
    capabilities: words.optional(),
    kill_chain_phases: z.array(killChainPhaseSchema).min(1).optional(),
  }),
);

export const vulnerabilitySchema = chronological(
  z.strictObject({
    type: z.literal('vulnerability'),
    id: stixIdSchema('vulnerability'),
    ...described,
    x_opencti_cvss_base_score: z.number().min(0).max(10).optional(),
  }),
);

export const attackPatternSchema = chronological(
  z.strictObject({
    type: z.literal('attack-pattern'),
    id: stixIdSchema('attack-pattern'),
    ...described,
    aliases: words.optional(),
    x_mitre_id: z.string().min(1).optional(),
    kill_chain_phases: z.array(killChainPhaseSchema).min(1).optional(),
  }),
);

export const toolSchema = chronological(
  z.strictObject({
    type: z.literal('tool'),
    id: stixIdSchema('tool'),
    ...described,
    aliases: words.optional(),
    tool_types: words.optional(),
    tool_version: z.string().min(1).optional(),
    kill_chain_phases: z.array(killChainPhaseSchema).min(1).optional(),
  }),
);

export const incidentSchema = chronological(
  z.strictObject({
    type: z.literal('incident'),
    id: stixIdSchema('incident'),
    ...described,
    ...seen,
  }),
);

export const relationshipSchema = chronological(
  z.strictObject({
    type: z.literal('relationship'),
    id: stixIdSchema('relationship'),
    ...common,
    relationship_type: z.string().regex(/^[a-z]+(-[a-z]+)*$/),
    source_ref: z.string().regex(/^[a-z][a-z0-9-]*--[0-9a-f-]{36}$/),
    target_ref: z.string().regex(/^[a-z][a-z0-9-]*--[0-9a-f-]{36}$/),
  }),
);

export const KNOWLEDGE_OBJECT_SCHEMAS = [
  reportSchema,
  intrusionSetSchema,
  threatActorSchema,
  campaignSchema,
  malwareSchema,
  vulnerabilitySchema,
  attackPatternSchema,
  toolSchema,
  incidentSchema,
  relationshipSchema,
] as const;

export type Report = z.infer<typeof reportSchema>;
export type IntrusionSet = z.infer<typeof intrusionSetSchema>;
export type ThreatActor = z.infer<typeof threatActorSchema>;
export type Campaign = z.infer<typeof campaignSchema>;
export type Malware = z.infer<typeof malwareSchema>;
export type Vulnerability = z.infer<typeof vulnerabilitySchema>;
export type AttackPattern = z.infer<typeof attackPatternSchema>;
export type Tool = z.infer<typeof toolSchema>;
export type Incident = z.infer<typeof incidentSchema>;
export type Relationship = z.infer<typeof relationshipSchema>;

/** The objects a threat model maps to (everything but the report and the relationships). */
export type ModelObject =
  IntrusionSet | ThreatActor | Campaign | Malware | Vulnerability | AttackPattern | Tool | Incident;
