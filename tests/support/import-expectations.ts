import { stixObjectSchema } from '../../src/stix/types';
import { IOC_TYPES, type IocType } from '../../src/ioc-types';
import { expectedIndicatorIds, lastUpdateId } from './connector-env';
import type { OpenCtiStub } from './opencti-stub';
import type { ReceivedMessage } from './rabbitmq';

/**
 * What an import must have produced, in terms a user checks: which indicators reached the
 * queue and which cursor OpenCTI stores for each IOC type.
 */

export type Cursors = Partial<Record<IocType, string>>;

export const ALL_TYPES = IOC_TYPES;

export function indicatorIdsOf(received: readonly ReceivedMessage[]): Set<string> {
  return new Set(
    received
      .map((r) => r.bundle.objects[0])
      .filter((o) => o.type === 'indicator')
      .map((o) => o.id),
  );
}

/** Members of `expected` that `actual` lacks, sorted, so a failure lists exactly what was lost. */
export function missing(expected: ReadonlySet<string>, actual: ReadonlySet<string>): string[] {
  return [...expected].filter((id) => !actual.has(id)).sort();
}

export function union(...sets: ReadonlySet<string>[]): Set<string> {
  return new Set(sets.flatMap((s) => [...s]));
}

/** The cursors OpenCTI stores for the connector; none before its first state. */
export function storedCursors(stub: OpenCtiStub): Cursors {
  const state = stub.state;
  if (state === undefined || state === null || state === '' || state === 'null') return {};
  return (JSON.parse(state) as { cursors: Cursors }).cursors;
}

/** The cursors carried by the last ping OpenCTI received. */
export function lastPingedCursors(stub: OpenCtiStub): Cursors {
  const pings = stub.calls('PingConnector');
  const state = pings.at(-1)?.variables.state;
  if (typeof state !== 'string' || state === 'null') return {};
  return (JSON.parse(state) as { cursors: Cursors }).cursors;
}

/**
 * The indicators of a cold start up to each stored cursor: the pages whose cursor was stored
 * were confirmed by the broker, so every one of these must already be in the queue.
 */
export function idsThroughCursors(total: number, cursors: Cursors): Set<string> {
  const ids = new Set<string>();
  for (const [type, cursor] of Object.entries(cursors) as [IocType, string][]) {
    const above = expectedIndicatorIds(total, [type], true, { [type]: cursor });
    for (const id of expectedIndicatorIds(total, [type], true)) if (!above.has(id)) ids.add(id);
  }
  return ids;
}

/**
 * Everything an import of `types` must deliver when its last run resumed from `resumedFrom`:
 * the cold start's active records, plus every record of any status above a resumed cursor
 * (an incremental pass asks for all statuses, so that deactivations arrive).
 */
export function expectedIds(
  total: number,
  types: readonly IocType[],
  resumedFrom: Cursors = {},
): Set<string> {
  const ids = expectedIndicatorIds(total, types, true);
  for (const [type, cursor] of Object.entries(resumedFrom) as [IocType, string][]) {
    for (const id of expectedIndicatorIds(total, [type], false, { [type]: cursor })) ids.add(id);
  }
  return ids;
}

/**
 * The cursor each type must end on: its last active record when its last pass started cold,
 * its last record of any status when that pass resumed from a cursor.
 */
export function expectedFinalCursors(
  total: number,
  types: readonly IocType[],
  resumedFrom: Cursors = {},
): Cursors {
  const cursors: Cursors = {};
  for (const type of types) {
    const from = resumedFrom[type];
    const last = lastUpdateId(total, type, from === undefined);
    const final =
      from !== undefined && (last === undefined || BigInt(from) > BigInt(last)) ? from : last;
    if (final !== undefined) cursors[type] = final;
  }
  return cursors;
}

/** The cursor of the last "Page imported" log line of each type. */
export function lastPageCursors(entries: readonly Record<string, unknown>[]): Cursors {
  const cursors: Cursors = {};
  for (const entry of entries) {
    if (entry.message !== 'Page imported') continue;
    cursors[entry.ioc_type as IocType] = entry.cursor as string;
  }
  return cursors;
}

/** Each object that the zod STIX schemas refuse, with the reasons; empty when all are valid. */
export function invalidObjects(received: readonly ReceivedMessage[]): string[] {
  const problems: string[] = [];
  for (const { bundle } of received) {
    for (const object of bundle.objects) {
      const parsed = stixObjectSchema.safeParse(object);
      if (!parsed.success) problems.push(`${object.id}: ${parsed.error.message}`);
    }
  }
  return problems;
}
