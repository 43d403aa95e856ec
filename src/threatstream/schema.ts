import { z } from 'zod';

/**
 * The fields of a ThreatStream v2 intelligence object that the connector uses.
 * Loose on input (unknown fields pass through untouched), strict on what is used.
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

export const intelligenceRecordSchema = z.looseObject({
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
    .looseObject({
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
 * reason. The result has the schema's keys, order and values: its fields in schema order, then
 * the others in input order, `__proto__` left out. tests/threatstream/schema-fast-path.test.ts
 * holds the two to that.
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

  // The schema's fields first, then one spread for the rest: a spread copies far faster than
  // adding keys one by one, and it keeps the positions the literal gave the schema's fields.
  const out: Record<string, unknown> = {
    id: undefined,
    update_id: undefined,
    value: undefined,
    type: undefined,
    subtype: undefined,
    itype: undefined,
    threat_type: undefined,
    status: undefined,
    confidence: undefined,
    meta: undefined,
    tags: undefined,
    tlp: undefined,
    source: undefined,
    description: undefined,
    created_ts: undefined,
    modified_ts: undefined,
    expiration_ts: undefined,
    ...object,
  };
  out.id = id;
  out.update_id = updateId;
  out.subtype = usualText(object.subtype);
  out.itype = usualText(object.itype);
  out.threat_type = usualText(object.threat_type);
  out.confidence = typeof confidence === 'number' || confidence === null ? confidence : undefined;
  out.meta = meta;
  out.tags = tags;
  out.tlp = usualText(object.tlp);
  out.source = usualText(object.source);
  out.description = usualText(object.description);
  out.expiration_ts = usualText(object.expiration_ts);
  return out as IntelligenceRecord;
}

const RECORD_FIELDS: readonly string[] = Object.keys(intelligenceRecordSchema.shape);
const META_FIELDS: ReadonlySet<string> = new Set(['severity', 'detail', 'detail2', 'maltype']);
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
 * Every schema field present, and nothing a spread would copy differently from the schema's
 * `for...in`: an own `__proto__` key, symbol keys, or enumerable keys inherited from a polluted
 * Object.prototype.
 */
function hasEveryField(object: Record<string, unknown>): boolean {
  for (const field of RECORD_FIELDS) if (!Object.hasOwn(object, field)) return false;
  if (Object.hasOwn(object, '__proto__')) return false;
  if (Object.getOwnPropertySymbols(object).length > 0) return false;
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
  for (const key in value) {
    if (!META_FIELDS.has(key) && key !== '__proto__') meta[key] = value[key];
  }
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
