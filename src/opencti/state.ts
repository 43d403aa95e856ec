import { z } from 'zod';
import { IOC_TYPES, type IocType } from '../ioc-types';

/**
 * The connector's state as stored by OpenCTI: one ThreatStream `update_id` cursor per IOC type,
 * so a type added later starts from its own beginning and instances can split the types.
 */
export interface ConnectorState {
  cursors: Partial<Record<IocType, string>>;
}

export const emptyState = (): ConnectorState => ({ cursors: {} });

const stateSchema = z.object({
  cursors: z.partialRecord(z.enum(IOC_TYPES), z.string().regex(/^\d{1,30}$/)),
});

export function hasCursors(state: ConnectorState): boolean {
  return Object.keys(state.cursors).length > 0;
}

/** pycti's convention: no state travels as the JSON text "null". */
export function serializeState(state: ConnectorState): string {
  return hasCursors(state) ? JSON.stringify({ cursors: state.cursors }) : 'null';
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
  return { ok: true, state: { cursors: parsed.data.cursors } };
}

/** Where a run reads its cursors and saves them once the broker confirmed their batches. */
export interface StateStore {
  /** The current state and its generation; a reset starts a new generation. */
  load(): { state: ConnectorState; generation: number };
  /** Persists the state; false when a reset happened since `generation` and the state was dropped. */
  save(state: ConnectorState, generation: number): Promise<boolean>;
}
