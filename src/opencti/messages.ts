import type { Bundle, StixObject } from '../stix/types';

/**
 * The messages the OpenCTI worker consumes from a connector's push queue, built the way pycti's
 * bundle splitter and `send_stix2_bundle` build them: one message per STIX object, each carrying
 * a single-object bundle, ordered so that dependencies come before the objects that reference them.
 */

export interface WorkerMessage {
  bundle_type: 'QUEUE_BUNDLE';
  applicant_id: string | null;
  action_sequence: number;
  entities_types: string[];
  /** Base64 of the UTF-8 JSON of a one-object bundle. */
  content: string;
  update: boolean;
  draft_id: string | null;
  work_id?: string;
}

/** What the worker finds once it decodes `content`. */
export interface SplitBundle {
  type: 'bundle';
  id: string;
  spec_version: '2.1';
  /** The object's dependency depth; informational for the worker, kept for parity with pycti. */
  x_opencti_seq: number;
  objects: [StixObject];
}

/** The ids the object references through its `*_ref` and `*_refs` properties. */
function referencedIds(object: StixObject): string[] {
  const ids: string[] = [];
  const properties = object as unknown as Record<string, unknown>;
  for (const key in properties) {
    const value = properties[key];
    if (key.endsWith('_ref') && typeof value === 'string') ids.push(value);
    else if (key.endsWith('_refs') && Array.isArray(value)) {
      for (const id of value as unknown[]) if (typeof id === 'string') ids.push(id);
    }
  }
  return ids;
}

/** 1 + the depths of the objects it references inside the bundle (references outside count 0). */
function dependencyDepths(objects: readonly StixObject[]): Map<string, number> {
  const byId = new Map<string, StixObject>(objects.map((o) => [o.id, o]));
  const depths = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (id: string): number => {
    const known = depths.get(id);
    if (known !== undefined) return known;
    const object = byId.get(id);
    if (object === undefined || visiting.has(id)) return 0;
    visiting.add(id);
    const depth = 1 + referencedIds(object).reduce((sum, ref) => sum + depthOf(ref), 0);
    visiting.delete(id);
    depths.set(id, depth);
    return depth;
  };
  for (const object of objects) depthOf(object.id);
  return depths;
}

/** One bundle per object, stable-sorted by dependency depth: author and markings come first. */
export function splitBundle(bundle: Bundle): SplitBundle[] {
  const depths = dependencyDepths(bundle.objects);
  return bundle.objects
    .map((object): SplitBundle => ({
      type: 'bundle',
      id: bundle.id,
      spec_version: '2.1',
      x_opencti_seq: depths.get(object.id) ?? 1,
      objects: [object],
    }))
    .sort((a, b) => a.x_opencti_seq - b.x_opencti_seq);
}

export interface MessageContext {
  applicantId: string | null;
  workId: string | null;
}

/**
 * The serialized message bodies of one bundle, in publishing order: each the UTF-8 JSON of a
 * WorkerMessage whose `content` is the base64 of the UTF-8 JSON of its SplitBundle. A re-send
 * after a failure reuses these very bytes.
 */
export function workerMessageBodies(bundle: Bundle, context: MessageContext): Buffer[] {
  return splitBundle(bundle).map((split, index) => workerMessageBody(split, index + 1, context));
}

/** The serialized message carrying one split bundle, `sequence` being its place in the batch. */
export function workerMessageBody(
  split: SplitBundle,
  sequence: number,
  context: MessageContext,
): Buffer {
  const content = Buffer.from(JSON.stringify(split)).toString('base64');
  // The message is serialized with a one-character content and the base64 put in its place:
  // JSON.stringify would otherwise scan the longest string of the message for nothing to escape.
  const serialized = JSON.stringify(workerMessage(sequence, context, CONTENT_PLACEHOLDER));
  const at = serialized.indexOf(CONTENT_SLOT) + CONTENT_SLOT.length - 2;
  return Buffer.from(serialized.slice(0, at) + content + serialized.slice(at + 1));
}

const CONTENT_PLACEHOLDER = '-';
/** Quotes inside a JSON string are escaped, so this text can only be the member itself. */
const CONTENT_SLOT = `"content":"${CONTENT_PLACEHOLDER}"`;

/** Members in the order pycti writes them; `work_id` only when there is a work. */
function workerMessage(sequence: number, context: MessageContext, content: string): WorkerMessage {
  return {
    bundle_type: 'QUEUE_BUNDLE',
    applicant_id: context.applicantId,
    action_sequence: sequence,
    entities_types: [],
    content,
    update: false,
    draft_id: null,
    ...(context.workId !== null && { work_id: context.workId }),
  };
}
