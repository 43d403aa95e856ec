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

/** Ours takes a few hundred characters; anything far larger is not a state we wrote. */
export const MAX_STATE_CHARS = 64 * 1024;
/** `{"cursors":{…}}` is two levels deep. */
const MAX_STATE_DEPTH = 4;

const stateSchema = z.object({
  cursors: z.partialRecord(z.enum(IOC_TYPES), z.string().regex(/^\d{1,30}$/), {
    // A key's default message quotes the key, which is the platform's text, not ours.
    error: (issue) => (issue.code === 'invalid_type' ? undefined : 'keys other than IOC types'),
  }),
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
  const stored = text as string;
  if (stored.length > MAX_STATE_CHARS) {
    return { ok: false, problem: `the stored state is larger than ${MAX_STATE_CHARS} characters` };
  }
  if (nestingExceeds(stored, MAX_STATE_DEPTH)) {
    return {
      ok: false,
      problem: `the stored state is nested deeper than ${MAX_STATE_DEPTH} levels`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(stored);
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

/**
 * Whether brackets outside strings nest deeper than `maxDepth`, read without parsing: a state
 * nested thousands deep is refused before anything walks it.
 */
function nestingExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') {
      if (++depth > maxDepth) return true;
    } else if (char === '}' || char === ']') depth--;
  }
  return false;
}

/** A remote state as a log line shows it: its size and cursors, or why it is unusable; never its text. */
export function summarizeRemoteState(
  text: string | null,
): { chars: number; cursors: ConnectorState['cursors'] } | { chars: number; problem: string } {
  const chars = text?.length ?? 0;
  const parsed = parseState(text);
  return parsed.ok ? { chars, cursors: parsed.state.cursors } : { chars, problem: parsed.problem };
}

/** Where a run reads its cursors and saves them once the broker confirmed their batches. */
export interface StateStore {
  /** The current state and its generation; a reset starts a new generation. */
  load(): { state: ConnectorState; generation: number };
  /** Persists the state; false when a reset happened since `generation` and the state was dropped. */
  save(state: ConnectorState, generation: number): Promise<boolean>;
}
