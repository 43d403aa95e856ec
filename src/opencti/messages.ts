import { base64Length, writeBase64 } from './base64';
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

/** Calls `visit` with every id the object references through `*_ref` and `*_refs` properties. */
function forEachReference(object: StixObject, visit: (id: string) => void): void {
  // Own keys, as JSON.stringify sees them; ids go straight to `visit`, with no array of them.
  const fields = object as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (key.endsWith('_ref') && typeof value === 'string') visit(value);
    if (key.endsWith('_refs') && Array.isArray(value)) {
      for (const id of value) if (typeof id === 'string') visit(id);
    }
  }
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
    let depth = 1;
    forEachReference(object, (ref) => {
      depth += depthOf(ref);
    });
    visiting.delete(id);
    depths.set(id, depth);
    return depth;
  };
  for (const object of objects) depthOf(object.id);
  return depths;
}

interface PlacedObject {
  object: StixObject;
  depth: number;
}

/** The bundle's objects stable-sorted by dependency depth (author and markings first). */
function publishingOrder(bundle: Bundle): PlacedObject[] {
  const depths = dependencyDepths(bundle.objects);
  return bundle.objects
    .map((object) => ({ object, depth: depths.get(object.id) ?? 1 }))
    .sort((a, b) => a.depth - b.depth);
}

/** One bundle per object, in publishing order. */
export function splitBundle(bundle: Bundle): SplitBundle[] {
  return publishingOrder(bundle).map(({ object, depth }) => ({
    type: 'bundle',
    id: bundle.id,
    spec_version: '2.1',
    x_opencti_seq: depth,
    objects: [object],
  }));
}

export interface MessageContext {
  applicantId: string | null;
  workId: string | null;
}

/**
 * Where a one-object bundle's JSON is written before its base64 goes into the message body; it
 * is read right away, so one buffer serves every message. Larger objects get a buffer of their own.
 */
const scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * The serialized message bodies of one bundle, in publishing order: byte for byte what
 * `JSON.stringify` gives for the WorkerMessage and SplitBundle above, but written from templates.
 * Only the STIX object itself goes through JSON.stringify, since every other member is fixed for
 * the bundle and base64 needs no JSON escaping. The one-object bundle is written as UTF-8 into a
 * scratch buffer and its base64 straight into the body: no text of either on the heap. A re-send
 * after a failure reuses these very bytes.
 */
export function workerMessageBodies(bundle: Bundle, context: MessageContext): Buffer[] {
  const splitHead = `{"type":"bundle","id":${JSON.stringify(bundle.id)},"spec_version":"2.1","x_opencti_seq":`;
  const messageHead = `{"bundle_type":"QUEUE_BUNDLE","applicant_id":${JSON.stringify(context.applicantId)},"action_sequence":`;
  const workId = context.workId === null ? '' : `,"work_id":${JSON.stringify(context.workId)}`;
  const messageTail = `","update":false,"draft_id":null${workId}}`;
  const messageTailBytes = Buffer.byteLength(messageTail);
  return publishingOrder(bundle).map(({ object, depth }, index) => {
    const objectHead = `${splitHead}${depth},"objects":[`;
    const json = JSON.stringify(object);
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const room = 3 * (objectHead.length + json.length) + SPLIT_TAIL.length;
    const split = room <= scratch.length ? scratch : Buffer.allocUnsafe(room);
    let splitBytes = split.write(objectHead);
    splitBytes += split.write(json, splitBytes);
    splitBytes += split.write(SPLIT_TAIL, splitBytes);

    const head = `${messageHead}${index + 1},"entities_types":[],"content":"`;
    const headBytes = Buffer.byteLength(head);
    const body = Buffer.allocUnsafe(headBytes + base64Length(splitBytes) + messageTailBytes);
    body.write(head);
    const at = writeBase64(split, splitBytes, body, headBytes);
    body.write(messageTail, at);
    return body;
  });
}

const SPLIT_TAIL = ']}';
