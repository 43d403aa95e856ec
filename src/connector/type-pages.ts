import type { Page } from '../threatstream/client';

/**
 * One IOC type's pages, opened on first use. The first page can be asked for ahead of time,
 * while the type before it delivers its last page, so a run switches types without waiting for
 * a round trip to ThreatStream.
 */
export class TypePages {
  private pages: AsyncGenerator<Page> | undefined;
  private head: Promise<IteratorResult<Page>> | undefined;

  constructor(private readonly open: () => AsyncGenerator<Page>) {}

  /** Starts fetching the first page now; a failure surfaces from next(). */
  prefetch(): void {
    if (this.pages !== undefined) return;
    this.head = this.opened().next();
    this.head.catch(() => undefined);
  }

  next(): Promise<IteratorResult<Page>> {
    const head = this.head;
    this.head = undefined;
    return head ?? this.opened().next();
  }

  /** Ends the pass, abandoning the request in flight once the page being fetched settles. */
  async close(): Promise<void> {
    await this.pages?.return(undefined);
  }

  private opened(): AsyncGenerator<Page> {
    this.pages ??= this.open();
    return this.pages;
  }
}
