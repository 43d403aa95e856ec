import type { FaultHook, SimulatorResponse } from '../../stand-ins/threatstream/simulator';

export type Fault = SimulatorResponse | 'reset' | 'hang';

export type CountingFault = FaultHook & {
  /** How many requests the fault answered so far. */
  served(): number;
};

/**
 * Answers the intelligence requests of one IOC type numbered `from` to `from + times - 1`
 * (1-based) with the fault; every other request gets the feed's own answer.
 */
export function faultOnRequests(options: {
  type: string;
  from: number;
  times: number;
  fault: Fault;
}): CountingFault {
  let seen = 0;
  let served = 0;
  const hook: FaultHook = (request) => {
    if (request.path !== '/api/v2/intelligence/' || request.query.type !== options.type) return;
    seen++;
    if (seen < options.from || seen >= options.from + options.times) return;
    served++;
    return options.fault;
  };
  return Object.assign(hook, { served: () => served });
}

/** Answers every page request of `type` with `body`, a page of JSON; other types as usual. */
export function servingPage(type: string, body: string): FaultHook {
  return (request) =>
    request.query.type === type
      ? { status: 200, headers: { 'content-type': 'application/json' }, body }
      : undefined;
}
