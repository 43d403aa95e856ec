import { z } from 'zod';
import { IOC_TYPES, type IocType } from '../ioc-types';

/**
 * The connector's state as stored by OpenCTI: one ThreatStream `update_id` cursor per IOC type,
 * so a type added later starts from its own beginning and instances can split the types, and the
 * threat models' cursor once a model was imported.
 */
export interface ConnectorState {
  cursors: Partial<Record<IocType, string>>;
  models?: ModelCursor;
}

/**
 * Where the threat-model import stands: the `modified_ts` of the newest model delivered, and the
 * models delivered at or after the start of its second, which the next window sees again.
 */
export interface ModelCursor {
  /** A STIX timestamp (milliseconds, UTC). */
  since: string;
  /** `<model_type>:<id>@<modified_ts>` of each of those models. */
  seen: string[];
}

export const emptyState = (): ConnectorState => ({ cursors: {} });

const modelCursorSchema = z.object({
  since: z.iso.datetime({ precision: 3 }),
  seen: z.array(z.string().min(1).max(200)).max(100_000),
});

// A state written before the threat-model import has no `models`: still a valid state.
const stateSchema = z.object({
  cursors: z.partialRecord(z.enum(IOC_TYPES), z.string().regex(/^\d{1,30}$/)),
  models: modelCursorSchema.optional(),
});

/** Whether the state holds any cursor, of an IOC type or of the threat models. */
export function hasCursors(state: ConnectorState): boolean {
  return Object.keys(state.cursors).length > 0 || state.models !== undefined;
}

/** pycti's convention: no state travels as the JSON text "null". */
export function serializeState(state: ConnectorState): string {
  if (!hasCursors(state)) return 'null';
  const { cursors, models } = state;
  return JSON.stringify(models === undefined ? { cursors } : { cursors, models });
}

/** A copy the holder of the original cannot change. */
export function copyState(state: ConnectorState): ConnectorState {
  const { cursors, models } = state;
  const copy: ConnectorState = { cursors: { ...cursors } };
  if (models !== undefined) copy.models = { since: models.since, seen: [...models.seen] };
  return copy;
}

/** An empty remote state is what OpenCTI answers once a user reset the connector in the UI. */
export function isEmptyRemoteState(text: string | null | undefined): boolean {
  const trimmed = text?.trim() ?? '';
  return trimmed === '' || trimmed === 'null' || trimmed === '{}';
}

export type ParsedState = { ok: true; state: ConnectorState } | { ok: false; problem: string };

export function parseState(text: string | null | undefined): ParsedState {
  if (isEmptyRemoteState(text)) return { ok: true, state: emptyState() };
  let json: unknown;
  try {
    json = JSON.parse(text as string);
  } catch {
    return { ok: false, problem: 'the stored state is not JSON' };
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      problem: `the stored state has an unexpected shape: ${z.prettifyError(parsed.error)}`,
    };
  }
  const { cursors, models } = parsed.data;
  return { ok: true, state: models === undefined ? { cursors } : { cursors, models } };
}

/** Where a run reads its cursors and saves them once the broker confirmed their batches. */
export interface StateStore {
  /** The current state and its generation; a reset starts a new generation. */
  load(): { state: ConnectorState; generation: number };
  /** Persists the state; false when a reset happened since `generation` and the state was dropped. */
  save(state: ConnectorState, generation: number): Promise<boolean>;
}
