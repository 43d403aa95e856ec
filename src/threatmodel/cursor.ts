import type { ModelCursor } from '../opencti/state';
import { parseTimestamp, stixTimestamp } from '../stix/timestamps';
import type { ModelSummary } from '../threatstream/model-schema';

/**
 * The threat models' cursor. ThreatStream filters `modified_ts` to the second while models
 * carry microseconds, so each window starts at the second of the newest model delivered and the
 * models already delivered from that second on are remembered and left out: a model sharing
 * that second with one delivered before is imported, never skipped.
 */

const SECOND_MS = 1000;

/** Identifies one change of one model. */
export function changeKey(summary: ModelSummary): string {
  return `${summary.model_type}:${summary.id}@${summary.modified_ts}`;
}

const modifiedOf = (key: string): number =>
  parseTimestamp(key.slice(key.lastIndexOf('@') + 1)) ?? Number.NEGATIVE_INFINITY;

/** Where the next window starts: the cursor's second, or the cold-start bound without one. */
export function windowStart(cursor: ModelCursor | undefined, coldStartFrom: Date): Date {
  if (cursor === undefined) return coldStartFrom;
  const since = Date.parse(cursor.since);
  return new Date(Math.floor(since / SECOND_MS) * SECOND_MS);
}

/** The changes of the window not delivered yet, oldest first (the order the cursor can follow). */
export function pendingChanges(
  found: readonly ModelSummary[],
  cursor: ModelCursor | undefined,
): ModelSummary[] {
  const seen = new Set(cursor?.seen ?? []);
  return found
    .filter((summary) => !seen.has(changeKey(summary)))
    .map((summary) => ({ summary, at: modifiedOf(changeKey(summary)), key: changeKey(summary) }))
    .sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : 1))
    .map(({ summary }) => summary);
}

/** The cursor once `summary`, the oldest pending change, was delivered. */
export function cursorAfter(cursor: ModelCursor | undefined, summary: ModelSummary): ModelCursor {
  const key = changeKey(summary);
  const previous = cursor === undefined ? Number.NEGATIVE_INFINITY : Date.parse(cursor.since);
  const since = Math.max(previous, modifiedOf(key));
  const secondStart = Math.floor(since / SECOND_MS) * SECOND_MS;
  const seen = [...(cursor?.seen ?? []), key].filter((k) => modifiedOf(k) >= secondStart);
  return { since: stixTimestamp(since), seen };
}
