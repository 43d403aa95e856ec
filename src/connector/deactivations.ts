import type { Indicator } from '../stix/types';
import { isDeactivation } from './revocations';

/** An indicator of a page, with the `update_id` of the record it came from. */
export interface PageIndicator {
  indicator: Indicator;
  updateId: bigint;
}

/**
 * A type's deactivations waiting to be checked against OpenCTI, so that each lookup covers a
 * full 500 of them, across pages. Live indicators are never held back. The cursor saved after a page
 * stays below the first deactivation still waiting, so a run that ends before they are sent
 * fetches them again.
 */
export class WaitingDeactivations {
  private readonly waiting = new Map<string, PageIndicator>();

  constructor(private readonly now: () => Date) {}

  get size(): number {
    return this.waiting.size;
  }

  /**
   * The page's live indicators; its deactivations wait. A newer record of the same indicator
   * replaces a waiting deactivation, so a re-activated IOC is never revoked after the fact.
   */
  admit(entries: readonly PageIndicator[]): Indicator[] {
    const now = this.now().toISOString();
    const live: Indicator[] = [];
    for (const entry of entries) {
      const { id } = entry.indicator;
      this.waiting.delete(id);
      if (isDeactivation(entry.indicator, now)) this.waiting.set(id, entry);
      else live.push(entry.indicator);
    }
    return live;
  }

  /** The first `count` waiting deactivations (every one by default), in the order they came. */
  take(count = this.waiting.size): Indicator[] {
    const taken: Indicator[] = [];
    for (const [id, { indicator }] of this.waiting) {
      if (taken.length === count) break;
      taken.push(indicator);
      this.waiting.delete(id);
    }
    return taken;
  }

  /** The cursor that may be saved once a page is delivered: below every waiting deactivation. */
  cursorAfter(pageCursor: string): string {
    let first: bigint | undefined;
    for (const { updateId } of this.waiting.values()) {
      if (first === undefined || updateId < first) first = updateId;
    }
    return first === undefined || BigInt(pageCursor) < first ? pageCursor : String(first - 1n);
  }
}
