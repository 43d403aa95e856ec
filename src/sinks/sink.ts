import type { Bundle } from '../stix/types';

/** Where a run delivers its bundles: the OpenCTI queue, the OpenCTI API, or files for a dry run. */
export interface BundleSink {
  /**
   * Resolves once the bundle is durably accepted (every message confirmed by the broker, or
   * the API answered). Returns how many messages were sent.
   */
  send(bundle: Bundle, workId: string | null, signal?: AbortSignal): Promise<number>;
  close(): Promise<void>;
}
