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

function referencedIds(object: StixObject): string[] {
  const ids: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    if (key.endsWith('_ref') && typeof value === 'string') ids.push(value);
    if (key.endsWith('_refs') && Array.isArray(value)) {
      for (const id of value) if (typeof id === 'string') ids.push(id);
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

/** One bundle per object, stable-sorted by dependency depth (author and markings first). */
export function splitBundle(bundle: Bundle): SplitBundle[] {
  const depths = dependencyDepths(bundle.objects);
  return bundle.objects
    .map((object) => ({ object, depth: depths.get(object.id) ?? 1 }))
    .sort((a, b) => a.depth - b.depth)
    .map(({ object, depth }) => ({
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

/** The serialized message bodies for one bundle, in publishing order. */
export function workerMessages(bundle: Bundle, context: MessageContext): Buffer[] {
  return splitBundle(bundle).map((split, index) => {
    const message: WorkerMessage = {
      bundle_type: 'QUEUE_BUNDLE',
      applicant_id: context.applicantId,
      action_sequence: index + 1,
      entities_types: [],
      content: Buffer.from(JSON.stringify(split), 'utf8').toString('base64'),
      update: false,
      draft_id: null,
    };
    if (context.workId !== null) message.work_id = context.workId;
    return Buffer.from(JSON.stringify(message), 'utf8');
  });
}
