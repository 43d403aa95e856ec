import { parseRecords, readUpdateId, type IntelligenceRecord, type RejectedRecord } from './schema';

/*
 * update_ids are decimal strings compared as BigInt: they are not guaranteed to stay below 2^53.
 */

export interface PageCursor {
  /** The greatest update_id readable on the page, never below the cursor sent; null if neither exists. */
  cursor: string | null;
  /** Whether the cursor moved past the one sent. */
  advanced: boolean;
}

/**
 * The cursor after a page, from its update_ids alone (malformed records included: the cursor
 * must move past them too). Cheap, so the next page is requested before this one is validated.
 */
export function pageCursor(objects: readonly unknown[], cursorSent: string | null): PageCursor {
  const updateIds: string[] = [];
  for (const object of objects) {
    const text = readUpdateId(object);
    if (text !== null) updateIds.push(text);
  }
  return greatestAbove(updateIds, cursorSent);
}

/** The greatest of the update_ids and the cursor sent, compared as numbers. */
function greatestAbove(updateIds: readonly string[], cursorSent: string | null): PageCursor {
  const floor = cursorSent === null ? null : BigInt(cursorSent);
  let highest = floor;
  for (const text of updateIds) {
    const updateId = BigInt(text);
    if (highest === null || updateId > highest) highest = updateId;
  }
  return {
    cursor: highest === null ? null : String(highest),
    advanced: highest !== null && highest !== floor,
  };
}

export interface PageRecords {
  /** Valid records above the cursor sent, in the order received. */
  records: IntelligenceRecord[];
  /** Malformed records and records at or below the cursor sent. */
  rejected: RejectedRecord[];
}

/** Splits a page's objects into usable and rejected records. */
export function pageRecords(objects: readonly unknown[], cursorSent: string | null): PageRecords {
  const parsed = parseRecords(objects);
  if (cursorSent === null) return parsed;
  const floor = BigInt(cursorSent);
  const records: IntelligenceRecord[] = [];
  const rejected: RejectedRecord[] = [...parsed.rejected];
  for (const record of parsed.records) {
    if (BigInt(record.update_id) > floor) {
      records.push(record);
      continue;
    }
    rejected.push({
      id: record.id,
      updateId: record.update_id,
      reason: 'stale_update_id',
      detail: `update_id ${record.update_id} is not above the cursor ${cursorSent}`,
    });
  }
  return { records, rejected };
}
