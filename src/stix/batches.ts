import { randomUUID } from 'node:crypto';
import { TLP_LEVELS, tlpMarking } from './markings';
import {
  stixIdSchema,
  type Bundle,
  type Identity,
  type Indicator,
  type MarkingDefinition,
} from './types';

/** Bounds what one bundle holds: its messages in flight, its memory, and what a failed send repeats. */
export const MAX_BATCH_INDICATORS = 500;

/**
 * Groups indicators into bundles of at most MAX_BATCH_INDICATORS. Each bundle is self-contained:
 * the author and every TLP marking its indicators reference travel with them, because a
 * reference to an object outside the bundle is either stripped or fails to resolve.
 */
export function buildBundles(
  indicators: readonly Indicator[],
  author: Identity,
  newBundleId: () => string = () => `bundle--${randomUUID()}`,
): Bundle[] {
  const bundles: Bundle[] = [];
  for (let start = 0; start < indicators.length; start += MAX_BATCH_INDICATORS) {
    const batch = indicators.slice(start, start + MAX_BATCH_INDICATORS);
    bundles.push({
      type: 'bundle',
      id: stixIdSchema('bundle').parse(newBundleId()),
      spec_version: '2.1',
      objects: [author, ...markingsReferencedBy(batch), ...batch],
    });
  }
  return bundles;
}

/** The TLP markings the objects reference, least restrictive first. */
export function markingsReferencedBy(
  objects: readonly { object_marking_refs: readonly string[] }[],
): MarkingDefinition[] {
  const referenced = new Set(objects.flatMap((object) => object.object_marking_refs));
  const markings = TLP_LEVELS.map(tlpMarking).filter((marking) => referenced.has(marking.id));
  if (markings.length !== referenced.size) {
    const known = new Set<string>(markings.map((marking) => marking.id));
    const unknown = [...referenced].filter((id) => !known.has(id));
    throw new RangeError(
      `objects reference markings that are not TLP markings: ${unknown.join(', ')}`,
    );
  }
  return markings;
}
