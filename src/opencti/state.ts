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

/** Models seen in the newest second: a handful in practice, bounded so the state stays small. */
const MAX_SEEN_MODELS = 1000;
/** Ours stays well under this even with every seen model; anything larger is not ours. */
export const MAX_STATE_CHARS = 512 * 1024;
/** `{"cursors":{…},"models":{"seen":[…]}}` is three levels deep. */
const MAX_STATE_DEPTH = 4;

/** An update_id cursor: a decimal below 2^63, as the record schema reads update_ids. */
const cursor = z
  .string()
  .regex(/^\d{1,19}$/)
  .refine((digits) => BigInt(digits) < 2n ** 63n, 'must be below 2^63');

const modelCursorSchema = z.object({
  since: z.iso.datetime({ precision: 3 }),
  seen: z.array(z.string().min(1).max(200)).max(MAX_SEEN_MODELS),
});

// A state written before the threat-model import has no `models`: still a valid state.
const stateSchema = z.object({
  cursors: z.partialRecord(z.enum(IOC_TYPES), cursor, {
    // A key's default message quotes the key, which is the platform's text, not ours.
    error: (issue) => (issue.code === 'invalid_type' ? undefined : 'keys other than IOC types'),
  }),
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
  const { cursors, models } = parsed.data;
  return { ok: true, state: models === undefined ? { cursors } : { cursors, models } };
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
