import type { OpenCtiStub } from '../../stand-ins/opencti/stub';

export interface HeldCall {
  /** Whether the call has reached the stand-in: the connector now waits for its answer. */
  reached: () => boolean;
  release: () => void;
}

/**
 * Holds a coming call of an operation at the OpenCTI stand-in until `release()`: the `nth` from
 * now, the ones before it answered as usual (no other failure may be queued for the operation).
 * The connector then waits at a known point of its run for as long as the test needs, on any
 * machine, where a delay would only make that likely.
 */
export function holdCall(stub: OpenCtiStub, operationName: string, nth = 1): HeldCall {
  let release!: () => void;
  const until = new Promise<void>((resolve) => (release = resolve));
  const target = stub.calls(operationName).length + nth;
  if (nth > 1) stub.failNext(operationName, { kind: 'delay', ms: 0 }, nth - 1);
  stub.failNext(operationName, { kind: 'hold', until });
  return { reached: () => stub.calls(operationName).length >= target, release };
}
