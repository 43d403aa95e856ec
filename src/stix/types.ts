import { z } from 'zod';
import { KNOWLEDGE_OBJECT_SCHEMAS } from './knowledge-types';
import { stixIdSchema, stixTimestampSchema } from './primitives';

/**
 * The STIX 2.1 objects this connector emits, and nothing more. Every object schema is strict:
 * a property we did not mean to send is a bug, not an extension.
 */

export { stixIdSchema, stixTimestampSchema, type StixId } from './primitives';

/** The STIX 2.1 indicator-type-ov vocabulary. */
export const INDICATOR_TYPES = [
  'anomalous-activity',
  'anonymization',
  'benign',
  'compromised',
  'malicious-activity',
  'attribution',
  'unknown',
] as const;
export type IndicatorType = (typeof INDICATOR_TYPES)[number];

/** OpenCTI entity type names of the observables our patterns describe. */
export const MAIN_OBSERVABLE_TYPES = [
  'IPv4-Addr',
  'IPv6-Addr',
  'Domain-Name',
  'Url',
  'Email-Addr',
  'StixFile',
  'X509-Certificate',
  'Mutex',
  'User-Agent',
  'Windows-Registry-Key',
  'Cryptocurrency-Wallet',
] as const;
export type MainObservableType = (typeof MAIN_OBSERVABLE_TYPES)[number];

const externalReferenceSchema = z.strictObject({
  source_name: z.string().min(1),
  external_id: z.string().min(1),
  url: z.url(),
});

export const indicatorSchema = z
  .strictObject({
    type: z.literal('indicator'),
    spec_version: z.literal('2.1'),
    id: stixIdSchema('indicator'),
    created: stixTimestampSchema,
    modified: stixTimestampSchema,
    created_by_ref: stixIdSchema('identity'),
    name: z.string().min(1),
    description: z.string().min(1).optional(),
    indicator_types: z.array(z.enum(INDICATOR_TYPES)).min(1),
    pattern: z.string().min(1),
    pattern_type: z.literal('stix'),
    pattern_version: z.literal('2.1'),
    valid_from: stixTimestampSchema,
    valid_until: stixTimestampSchema.optional(),
    revoked: z.boolean(),
    labels: z.array(z.string().min(1)).min(1).optional(),
    external_references: z.array(externalReferenceSchema).min(1),
    object_marking_refs: z.array(stixIdSchema('marking-definition')).min(1),
    x_opencti_score: z.int().min(0).max(100),
    x_opencti_detection: z.boolean(),
    x_opencti_main_observable_type: z.enum(MAIN_OBSERVABLE_TYPES),
    x_opencti_create_observables: z.boolean(),
  })
  .refine((indicator) => Date.parse(indicator.modified) >= Date.parse(indicator.created), {
    error: 'modified must not be earlier than created',
    path: ['modified'],
  })
  // The platform refuses an indicator whose validity window is empty.
  .refine(
    (indicator) =>
      indicator.valid_until === undefined ||
      Date.parse(indicator.valid_until) > Date.parse(indicator.valid_from),
    { error: 'valid_until must be after valid_from', path: ['valid_until'] },
  );
export type Indicator = z.infer<typeof indicatorSchema>;

export const identitySchema = z.strictObject({
  type: z.literal('identity'),
  spec_version: z.literal('2.1'),
  id: stixIdSchema('identity'),
  created: stixTimestampSchema,
  modified: stixTimestampSchema,
  name: z.string().min(1),
  identity_class: z.literal('organization'),
});
export type Identity = z.infer<typeof identitySchema>;

const markingCommon = {
  type: z.literal('marking-definition'),
  spec_version: z.literal('2.1'),
  id: stixIdSchema('marking-definition'),
  created: stixTimestampSchema,
  name: z.string().min(1),
};

/** The four TLP 1.0 markings exactly as the STIX 2.1 specification defines them. */
const tlpMarkingSchema = z.strictObject({
  ...markingCommon,
  definition_type: z.literal('tlp'),
  definition: z.strictObject({ tlp: z.enum(['white', 'green', 'amber', 'red']) }),
});

/** STIX has no TLP:AMBER+STRICT; OpenCTI reads its own definition fields on a statement marking. */
const statementMarkingSchema = z.strictObject({
  ...markingCommon,
  definition_type: z.literal('statement'),
  definition: z.strictObject({ statement: z.string().min(1) }),
  x_opencti_definition_type: z.literal('TLP'),
  x_opencti_definition: z.string().min(1),
});

export const markingDefinitionSchema = z.discriminatedUnion('definition_type', [
  tlpMarkingSchema,
  statementMarkingSchema,
]);
export type MarkingDefinition = z.infer<typeof markingDefinitionSchema>;

export const stixObjectSchema = z.discriminatedUnion('type', [
  indicatorSchema,
  identitySchema,
  markingDefinitionSchema,
  ...KNOWLEDGE_OBJECT_SCHEMAS,
]);
export type StixObject = z.infer<typeof stixObjectSchema>;

/**
 * `spec_version` is not a STIX 2.1 bundle property, but the bundles pycti hands to the OpenCTI
 * worker carry it, so the worker is known to accept it.
 */
export const bundleSchema = z.strictObject({
  type: z.literal('bundle'),
  id: stixIdSchema('bundle'),
  spec_version: z.literal('2.1'),
  objects: z.array(stixObjectSchema).min(1),
});
export type Bundle = z.infer<typeof bundleSchema>;
