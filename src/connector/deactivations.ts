import type { IocType } from '../ioc-types';
import type { Indicator } from '../stix/types';
import { isDeactivation, type TypedIndicator } from './revocations';

/** An indicator of a page, with the `update_id` of the record it came from. */
export interface PageIndicator {
  indicator: Indicator;
  updateId: bigint;
}

type Waiting = TypedIndicator & { updateId: bigint };

/**
 * A run's deactivations waiting to be checked against OpenCTI, across pages and types, so that
 * each lookup covers a full 500 of them. Live indicators are never held back. The cursor saved
 * after a page stays below the type's first deactivation still waiting, so a run that ends
 * before they are sent fetches them again.
 */
export class WaitingDeactivations {
  /** By indicator id: an indicator belongs to one type, its pattern says which. */
  private readonly waiting = new Map<string, Waiting>();

  constructor(private readonly now: () => Date) {}

  get size(): number {
    return this.waiting.size;
  }

  /**
   * The page's live indicators; its deactivations wait. A newer record of the same indicator
   * replaces a waiting deactivation, so a re-activated IOC is never revoked after the fact.
   */
  admit(type: IocType, entries: readonly PageIndicator[]): Indicator[] {
    const now = this.now().toISOString();
    const live: Indicator[] = [];
    for (const { indicator, updateId } of entries) {
      this.waiting.delete(indicator.id);
      if (isDeactivation(indicator, now))
        this.waiting.set(indicator.id, { type, indicator, updateId });
      else live.push(indicator);
    }
    return live;
  }

  /** The first `count` waiting deactivations (every one by default), in the order they came. */
  take(count = this.waiting.size): TypedIndicator[] {
    const taken: TypedIndicator[] = [];
    for (const [id, { type, indicator }] of this.waiting) {
      if (taken.length === count) break;
      taken.push({ type, indicator });
      this.waiting.delete(id);
    }
    return taken;
  }

  /** Whether deactivations of `type` still wait. */
  holds(type: IocType): boolean {
    for (const waiting of this.waiting.values()) if (waiting.type === type) return true;
    return false;
  }

  /** The cursor that may be saved once a page of `type` is delivered: below its waiting ones. */
  cursorAfter(type: IocType, pageCursor: string): string {
    let first: bigint | undefined;
    for (const waiting of this.waiting.values()) {
      if (waiting.type === type && (first === undefined || waiting.updateId < first)) {
        first = waiting.updateId;
      }
    }
    return first === undefined || BigInt(pageCursor) < first ? pageCursor : String(first - 1n);
  }
}
