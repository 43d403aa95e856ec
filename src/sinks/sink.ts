import type { Bundle, StixObject } from '../stix/types';

/** Where a run delivers its bundles: the OpenCTI queue, the OpenCTI API, or files for a dry run. */
export interface BundleSink {
  /**
   * Does for a bundle whatever need not wait for the bundle before it to be accepted (encoding,
   * the work's expectations), so it can happen while that one is being confirmed. A prepared
   * bundle is counted in the work: it must be delivered.
   */
  prepare(bundle: Bundle, workId: string | null): Promise<PreparedBundle>;
  close(): Promise<void>;
}

export interface PreparedBundle {
  /** How many messages delivering it sends. */
  readonly messages: number;
  /** Objects left out: their message would exceed what the broker accepts. */
  readonly tooLarge?: readonly StixObject[];
  /**
   * Resolves once the bundle is durably accepted: every message confirmed by the broker, or the
   * API answered.
   */
  deliver(signal?: AbortSignal): Promise<void>;
}
