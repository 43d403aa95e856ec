import type { Bundle } from '../stix/types';
import type { BundleSink, PreparedBundle } from './sink';

/**
 * A sink that is opened anew after a delivery failed for good: the broker address or password
 * may have changed in OpenCTI, and registering again is how the connector learns them. The
 * failed run ends; the next one re-registers before its first bundle.
 */
export class RefreshingSink implements BundleSink {
  private current: Promise<BundleSink>;
  private stale = false;

  constructor(
    first: BundleSink,
    private readonly reopen: () => Promise<BundleSink>,
  ) {
    this.current = Promise.resolve(first);
  }

  async prepare(bundle: Bundle, workId: string | null): Promise<PreparedBundle> {
    if (this.stale) {
      this.stale = false;
      const previous = this.current;
      this.current = previous.then((sink) => sink.close().catch(() => undefined)).then(this.reopen);
    }
    const prepared = await (await this.current).prepare(bundle, workId);
    return {
      ...prepared,
      deliver: async (signal) => {
        try {
          await prepared.deliver(signal);
        } catch (error) {
          this.stale = true;
          throw error;
        }
      },
    };
  }

  async close(): Promise<void> {
    await (await this.current.catch(() => undefined))?.close();
  }
}
