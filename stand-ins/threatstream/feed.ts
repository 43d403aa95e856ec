import {
  RECORD_INTERVAL_MS,
  UPDATE_ID_STRIDE,
  countOfType,
  firstIndexAbove,
  modifiedAt,
  nextIndexOfType,
  recordAt,
  typeAt,
  updateIdAt,
  type FeedOptions,
  type SimulatedRecord,
  type ThreatStreamType,
} from './records';

/** A parsed intelligence query, in the simulator's terms. */
export interface FeedQuery {
  type: ThreatStreamType | undefined;
  updateIdAbove: bigint | undefined;
  /** Inclusive lower bound on modified_ts, epoch ms. */
  modifiedFrom: number | undefined;
  /** Exclusive upper bound on modified_ts, epoch ms. */
  modifiedBefore: number | undefined;
  statuses: ReadonlySet<string> | undefined;
  minConfidence: number | undefined;
  feedIds: ReadonlySet<number> | undefined;
  trustedCircleIds: ReadonlySet<number> | undefined;
  limit: number;
}

export interface FeedPage {
  records: SimulatedRecord[];
  more: boolean;
  totalCount: number;
  /** Record-level filters are not counted, as ThreatStream's own counts are approximate at scale. */
  approximate: boolean;
}

/** What an update may change; identity and ordering fields are the feed's. */
export type RecordPatch = Partial<
  Omit<SimulatedRecord, 'id' | 'update_id' | 'type' | 'modified_ts' | 'sort' | 'resource_uri'>
>;

interface Update {
  index: number;
  updateId: number;
  modifiedMs: number;
  patch: RecordPatch;
}

/**
 * The simulator's data: `total` generated records plus a few updates. An update gives a record
 * a new update_id above every existing one (between the last record and the next to come), so
 * the record leaves its old place and reappears at the end of the feed, as on ThreatStream.
 * A page costs O(limit + records skipped by record-level filters), never O(total).
 */
export class SimulatedFeed {
  /** How many records have been generated so far: a page must not cost the whole feed. */
  recordsGenerated = 0;
  private size: number;
  private readonly updatesByIndex = new Map<number, Update>();
  /** Ascending update_id. */
  private updates: Update[] = [];
  private updatesSinceLastRecord = 0;

  constructor(
    total: number,
    private readonly options: FeedOptions,
  ) {
    this.size = checkedTotal(total);
  }

  get total(): number {
    return this.size;
  }

  /** Adds records (never removes): they come after everything already there. */
  setTotal(total: number): void {
    if (checkedTotal(total) < this.size) {
      throw new RangeError(`the feed only grows: ${total} < ${this.size}`);
    }
    if (total > this.size) this.updatesSinceLastRecord = 0;
    this.size = total;
  }

  update(index: number, patch: RecordPatch): SimulatedRecord {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`no record ${index} in a feed of ${this.size}`);
    }
    if (this.updatesSinceLastRecord + 1 >= UPDATE_ID_STRIDE) {
      throw new RangeError('too many updates since the last record; add records first');
    }
    this.updatesSinceLastRecord += 1;
    const last = this.size - 1;
    // Both offsets stay below the gap to the next record (stride and 1 s).
    const update: Update = {
      index,
      updateId: updateIdAt(last) + this.updatesSinceLastRecord,
      modifiedMs: modifiedAt(last, this.options) + this.updatesSinceLastRecord,
      patch,
    };
    this.updates = this.updates.filter((u) => u.index !== index);
    this.updates.push(update);
    this.updatesByIndex.set(index, update);
    return this.recordAt(index);
  }

  /** The current version of record `index`. */
  recordAt(index: number): SimulatedRecord {
    this.recordsGenerated += 1;
    const original = recordAt(index, this.options);
    const update = this.updatesByIndex.get(index);
    if (update === undefined) return original;
    return {
      ...original,
      ...update.patch,
      update_id: update.updateId,
      modified_ts: new Date(update.modifiedMs).toISOString(),
      sort: [update.updateId],
    };
  }

  page(query: FeedQuery): FeedPage {
    const [from, to] = this.indexRange(query);
    const updates = this.updates.filter((u) => this.updateMatches(u, query));
    const wanted = query.limit + 1;
    const found: SimulatedRecord[] = [];
    const consider = (index: number) => {
      const record = this.recordAt(index);
      if (recordMatches(record, query)) found.push(record);
    };

    let pending = 0;
    for (let i = this.nextIndex(query, from); i < to && found.length < wanted;) {
      const updateId = updateIdAt(i);
      while (pending < updates.length && updates[pending]!.updateId < updateId) {
        if (found.length >= wanted) break;
        consider(updates[pending++]!.index);
      }
      if (found.length < wanted && !this.updatesByIndex.has(i)) consider(i);
      i = this.nextIndex(query, i + 1);
    }
    while (pending < updates.length && found.length < wanted) consider(updates[pending++]!.index);

    const originals = query.type === undefined ? to - from : countOfType(query.type, from, to);
    const movedAway = [...this.updatesByIndex.keys()].filter(
      (i) => i >= from && i < to && (query.type === undefined || typeAt(i) === query.type),
    ).length;
    return {
      records: found.slice(0, query.limit),
      more: found.length > query.limit,
      totalCount: Math.max(0, originals - movedAway) + updates.length,
      approximate: hasRecordFilters(query),
    };
  }

  /**
   * The same for two queries that select the same page of the feed as it is now: an upper
   * modified_ts bound after every record's is the same as none (each run sends its own).
   */
  pageKey(query: FeedQuery): string {
    const latest = Math.max(
      this.size > 0 ? modifiedAt(this.size - 1, this.options) : -Infinity,
      this.updates.at(-1)?.modifiedMs ?? -Infinity,
    );
    const before =
      query.modifiedBefore !== undefined && query.modifiedBefore > latest
        ? undefined
        : query.modifiedBefore;
    const sorted = (set: ReadonlySet<string | number> | undefined) =>
      set === undefined ? null : [...set].sort();
    return JSON.stringify([
      query.type ?? null,
      query.updateIdAbove?.toString() ?? null,
      query.modifiedFrom ?? null,
      before ?? null,
      sorted(query.statuses),
      query.minConfidence ?? null,
      sorted(query.feedIds),
      sorted(query.trustedCircleIds),
      query.limit,
    ]);
  }

  /** The indices allowed by the update_id and modified_ts bounds: both grow with the index. */
  private indexRange(query: FeedQuery): [number, number] {
    const start = modifiedAt(0, this.options);
    const indexFrom = (ms: number) => Math.max(0, Math.ceil((ms - start) / RECORD_INTERVAL_MS));
    let from = query.updateIdAbove === undefined ? 0 : firstIndexAbove(query.updateIdAbove);
    if (query.modifiedFrom !== undefined) from = Math.max(from, indexFrom(query.modifiedFrom));
    let to = this.size;
    if (query.modifiedBefore !== undefined) to = Math.min(to, indexFrom(query.modifiedBefore));
    return [from, to];
  }

  private nextIndex(query: FeedQuery, from: number): number {
    return query.type === undefined ? from : nextIndexOfType(query.type, from);
  }

  private updateMatches(update: Update, query: FeedQuery): boolean {
    if (query.type !== undefined && typeAt(update.index) !== query.type) return false;
    if (query.updateIdAbove !== undefined && BigInt(update.updateId) <= query.updateIdAbove) {
      return false;
    }
    if (query.modifiedFrom !== undefined && update.modifiedMs < query.modifiedFrom) return false;
    return query.modifiedBefore === undefined || update.modifiedMs < query.modifiedBefore;
  }
}

function recordMatches(record: SimulatedRecord, query: FeedQuery): boolean {
  if (query.statuses !== undefined && !query.statuses.has(record.status)) return false;
  if (query.minConfidence !== undefined && record.confidence < query.minConfidence) return false;
  if (query.feedIds !== undefined && !query.feedIds.has(record.feed_id)) return false;
  const circles = query.trustedCircleIds;
  return circles === undefined || (record.trusted_circle_ids ?? []).some((id) => circles.has(id));
}

function hasRecordFilters(query: FeedQuery): boolean {
  return [query.statuses, query.minConfidence, query.feedIds, query.trustedCircleIds].some(
    (filter) => filter !== undefined,
  );
}

function checkedTotal(total: number): number {
  if (!Number.isInteger(total) || total < 0) {
    throw new RangeError(`total must be a non-negative integer: ${total}`);
  }
  return total;
}

/** The original records of one type, in update_id order: what a full pass over a fresh feed returns. */
export function* expectedRecords(
  total: number,
  type: ThreatStreamType,
  feed: FeedOptions = {},
): Generator<SimulatedRecord> {
  for (let i = nextIndexOfType(type, 0); i < total; i = nextIndexOfType(type, i + 1)) {
    yield recordAt(i, feed);
  }
}
