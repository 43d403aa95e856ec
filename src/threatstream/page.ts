import { parseRecords, type IntelligenceRecord, type RejectedRecord } from './schema';

export interface InterpretedPage {
  /** Valid records above the cursor sent, in the order received. */
  records: IntelligenceRecord[];
  /** Malformed records and records at or below the cursor sent. */
  rejected: RejectedRecord[];
  /** The greatest update_id readable on the page, never below the cursor sent; null if neither exists. */
  cursor: string | null;
  /** Whether the cursor moved past the one sent. */
  advanced: boolean;
}

/**
 * Splits a page's objects into usable and rejected records and computes the next cursor.
 * update_ids are decimal strings compared as BigInt: they are not guaranteed to stay below 2^53.
 */
export function interpretPage(
  objects: readonly unknown[],
  cursorSent: string | null,
): InterpretedPage {
  const parsed = parseRecords(objects);
  const floor = cursorSent === null ? null : BigInt(cursorSent);
  const records: IntelligenceRecord[] = [];
  const rejected: RejectedRecord[] = [...parsed.rejected];
  let highest = floor;

  const raise = (updateId: bigint) => {
    if (highest === null || updateId > highest) highest = updateId;
  };
  for (const reject of parsed.rejected) {
    if (reject.updateId !== null) raise(BigInt(reject.updateId));
  }
  for (const record of parsed.records) {
    const updateId = BigInt(record.update_id);
    raise(updateId);
    if (floor !== null && updateId <= floor) {
      rejected.push({
        id: record.id,
        updateId: record.update_id,
        reason: 'stale_update_id',
        detail: `update_id ${record.update_id} is not above the cursor ${cursorSent}`,
      });
      continue;
    }
    records.push(record);
  }

  const cursor = highest === null ? null : String(highest);
  return { records, rejected, cursor, advanced: highest !== null && highest !== floor };
}
