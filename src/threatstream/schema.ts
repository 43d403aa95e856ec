import { z } from 'zod';

/**
 * The fields of a ThreatStream v2 intelligence object that the connector uses, and only those:
 * other fields are dropped, so that a validated record costs a few hundred bytes, not a copy of
 * ThreatStream's forty-odd fields.
 * Decorative fields that arrive in the wrong shape fall back to "absent" instead of
 * rejecting the whole record, so a bad tag list never costs an indicator.
 */

/** Identifiers are held to the signed 64-bit range; larger ones make a record malformed. */
const ID_LIMIT = 2n ** 63n;

/**
 * Identifiers arrive as JSON numbers (v2) or digit strings (v1, some proxies); kept as decimal
 * strings below 2^63. Numbers past 2^53 are refused because JSON.parse has already rounded them.
 * A string's length is checked before anything else, so a huge one costs nothing to refuse.
 */
const decimalId = z.union([
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).transform(String),
  z
    .string()
    .max(30, { abort: true })
    .regex(/^\d+$/)
    .transform((digits) => digits.replace(/^0+(?=\d)/, ''))
    .refine((digits) => BigInt(digits) < ID_LIMIT, 'must be below 2^63'),
]);

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
  return readId((object as { update_id?: unknown } | null)?.update_id);
}
