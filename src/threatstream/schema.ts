import { z } from 'zod';

/**
 * The fields of a ThreatStream v2 intelligence object that the connector uses, and only those:
 * other fields are dropped, so that a validated record costs a few hundred bytes, not a copy of
 * ThreatStream's forty-odd fields.
 * Decorative fields that arrive in the wrong shape fall back to "absent" instead of
 * rejecting the whole record, so a bad tag list never costs an indicator.
 */

/** Identifiers arrive as JSON numbers (v2) or digit strings (v1, some proxies); kept as decimal strings. */
const decimalId = z
  .union([
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    z.string().regex(/^\d{1,30}$/),
  ])
  .transform((v) => (typeof v === 'number' ? String(v) : v.replace(/^0+(?=\d)/, '')));

const optionalText = z.string().nullish().catch(undefined);

const tag = z.union([
  z.string().transform((name) => ({ name })),
  z.looseObject({ name: z.string() }).transform((t) => ({ name: t.name })),
]);

export const intelligenceRecordSchema = z.object({
  id: decimalId,
  update_id: decimalId,
  value: z.string(),
  type: z.string(),
  subtype: optionalText,
  itype: optionalText,
  threat_type: optionalText,
  status: z.string(),
  confidence: z.number().nullish().catch(undefined),
  meta: z
    .object({
      severity: optionalText,
      detail: optionalText,
      detail2: optionalText,
      maltype: optionalText,
    })
    .nullish()
    .catch(undefined),
  tags: z.array(tag.nullable().catch(null)).nullish().catch(undefined),
  tlp: optionalText,
  source: optionalText,
  description: optionalText,
  created_ts: z.string(),
  modified_ts: z.string(),
  expiration_ts: optionalText,
});

export type IntelligenceRecord = z.output<typeof intelligenceRecordSchema>;

/** The page envelope; objects are validated one by one so one bad record never rejects its page. */
export const intelligencePageSchema = z.looseObject({
  meta: z.looseObject({
    next: z.string().nullish(),
    total_count: z.number().nullish(),
    limit: z.number().nullish(),
  }),
  objects: z.array(z.unknown()),
});

export type RejectReason = 'malformed_record' | 'stale_update_id';

export interface RejectedRecord {
  /** The ThreatStream `id` when it could be read, else null. */
  id: string | null;
  /** The record's `update_id` when it could be read: the cursor must still move past it. */
  updateId: string | null;
  reason: RejectReason;
  detail: string;
}

export interface ParsedRecords {
  records: IntelligenceRecord[];
  rejected: RejectedRecord[];
}

export function parseRecords(objects: readonly unknown[]): ParsedRecords {
  const records: IntelligenceRecord[] = [];
  const rejected: RejectedRecord[] = [];
  for (const object of objects) {
    const usual = parseUsualRecord(object);
    if (usual !== undefined) {
      records.push(usual);
      continue;
    }
    const parsed = intelligenceRecordSchema.safeParse(object);
    if (parsed.success) {
      records.push(parsed.data);
      continue;
    }
    rejected.push({
      id: readId((object as { id?: unknown } | null)?.id),
      updateId: readUpdateId(object),
      reason: 'malformed_record',
      detail: parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`)
        .join('; ')
        .slice(0, 500),
    });
  }
  return { records, rejected };
}

function readId(value: unknown): string | null {
  const parsed = decimalId.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/**
 * An object's `update_id` as the schema reads it, whether or not the rest of the object is a
 * valid record; null when unreadable.
 */
export function readUpdateId(object: unknown): string | null {
  const value = (object as { update_id?: unknown } | null)?.update_id;
  return usualId(value) ?? readId(value);
}

/**
 * The schema's own result for a record in the shape ThreatStream sends, computed by hand because
 * the schema costs several microseconds a record: a plain JSON object holding every field the
 * schema names, each of its usual type. Anything else (a missing field, an unusual type, every
 * malformed record) gives undefined and is left to the schema, so a rejection keeps its exact
 * reason. The result has the schema's keys, order and values.
 * tests/threatstream/schema-fast-path.test.ts holds the two to that.
 */
export function parseUsualRecord(object: unknown): IntelligenceRecord | undefined {
  if (!isPlainObject(object) || !hasEveryField(object)) return undefined;
  const id = usualId(object.id);
  const updateId = usualId(object.update_id);
  const { value, type, status, confidence } = object;
  if (id === undefined || updateId === undefined) return undefined;
  if (typeof value !== 'string' || typeof type !== 'string' || typeof status !== 'string') {
    return undefined;
  }
  if (typeof object.created_ts !== 'string' || typeof object.modified_ts !== 'string') {
    return undefined;
  }
  if (typeof confidence === 'number' && !Number.isFinite(confidence)) return undefined;
  const meta = usualMeta(object.meta);
  const tags = usualTags(object.tags);
  if (meta === INVALID || tags === INVALID) return undefined;

  const out: IntelligenceRecord = {
    id,
    update_id: updateId,
    value,
    type,
    subtype: usualText(object.subtype),
    itype: usualText(object.itype),
    threat_type: usualText(object.threat_type),
    status,
    confidence: typeof confidence === 'number' || confidence === null ? confidence : undefined,
    meta,
    tags,
    tlp: usualText(object.tlp),
    source: usualText(object.source),
    description: usualText(object.description),
    created_ts: object.created_ts,
    modified_ts: object.modified_ts,
    expiration_ts: usualText(object.expiration_ts),
  };
  return out;
}

const RECORD_FIELDS: readonly string[] = Object.keys(intelligenceRecordSchema.shape);
const DIGITS = /^\d{1,30}$/;
const LEADING_ZEROS = /^0+(?=\d)/;
/** Tells "the schema must decide" apart from a field that legitimately reads as absent. */
const INVALID = Symbol('invalid');

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
  );
}

/**
 * Every schema field is an own property, and Object.prototype is not polluted: the schema would
 * see an inherited key that a record lacks, and the hand-written reading leaves that to it.
 */
function hasEveryField(object: Record<string, unknown>): boolean {
  for (const field of RECORD_FIELDS) if (!Object.hasOwn(object, field)) return false;
  return Object.keys(Object.prototype).length === 0;
}

/** decimalId's result, or undefined when the schema must decide. */
function usualId(value: unknown): string | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? String(value) : undefined;
  }
  if (typeof value === 'string' && DIGITS.test(value)) return value.replace(LEADING_ZEROS, '');
  return undefined;
}

/** optionalText's result: it never fails, anything but text or null reads as absent. */
function usualText(value: unknown): string | null | undefined {
  return typeof value === 'string' || value === null ? value : undefined;
}

function usualMeta(value: unknown): Record<string, unknown> | null | undefined | typeof INVALID {
  if (value === null || value === undefined) return value;
  if (!isPlainObject(value)) return INVALID;
  const meta: Record<string, unknown> = {};
  if ('severity' in value) meta.severity = usualText(value.severity);
  if ('detail' in value) meta.detail = usualText(value.detail);
  if ('detail2' in value) meta.detail2 = usualText(value.detail2);
  if ('maltype' in value) meta.maltype = usualText(value.maltype);
  return meta;
}

function usualTags(
  value: unknown,
): ({ name: string } | null)[] | null | undefined | typeof INVALID {
  if (value === null || value === undefined) return value;
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype) return INVALID;
  const tags: ({ name: string } | null)[] = [];
  for (let index = 0; index < value.length; index++) {
    const tag: unknown = value[index];
    if (typeof tag === 'string') tags.push({ name: tag });
    else if (tag === null) tags.push(null);
    else if (isPlainObject(tag) && typeof tag.name === 'string') tags.push({ name: tag.name });
    else return INVALID;
  }
  return tags;
}
