import { randomUUID } from 'node:crypto';
import type { Logger } from '../log';
import type { ModelType } from '../model-types';
import { MAX_BATCH_INDICATORS, markingsReferencedBy } from '../stix/batches';
import type { ConvertOptions } from '../stix/convert';
import type { ModelObject } from '../stix/knowledge-types';
import { stixTimestampOf } from '../stix/timestamps';
import { stixIdSchema, type Bundle, type StixObject } from '../stix/types';
import type { ThreatModelClient } from '../threatstream/model-client';
import type { ModelSummary, ThreatModel } from '../threatstream/model-schema';
import { isPublished } from '../threatstream/model-schema';
import { linkedIndicators, type IocFilters, type LinkedIndicator } from './linked-iocs';
import { modelObjectOf, reportOf, type ModelMappingOptions } from './objects';
import { relationshipBetween } from './relationships';

/**
 * One changed model as bundles, in the order OpenCTI needs them: the model with the models it is
 * associated with and their relationships, then its indicators with theirs, page by page, and a
 * bulletin's report last, once every object it references was sent.
 */

/**
 * Each pair of types is read from one side only: a model lists the associations of the types
 * after its own here. Bulletins and actors come first, as they link to the most.
 */
const READING_ORDER: readonly ModelType[] = [
  'tipreport',
  'actor',
  'intrusionset',
  'campaign',
  'incident',
  'malware',
  'tool',
  'attackpattern',
  'ttp',
  'vulnerability',
];

export interface ModelImportSettings {
  types: readonly ModelType[];
  mapping: ModelMappingOptions;
  convert: ConvertOptions;
  iocFilters: IocFilters;
}

export interface ModelImportContext {
  client: Pick<ThreatModelClient, 'detail' | 'iocPages' | 'associations'>;
  settings: ModelImportSettings;
  log: Logger;
  signal: AbortSignal;
}

/** The association types a model reads: the configured ones after its own. */
export function associationTypesOf(type: ModelType, configured: readonly ModelType[]): ModelType[] {
  const after = READING_ORDER.slice(READING_ORDER.indexOf(type) + 1);
  return after.filter((other) => configured.includes(other));
}

export async function* modelBundles(
  summary: ModelSummary,
  context: ModelImportContext,
): AsyncGenerator<Bundle> {
  const model = await context.client.detail(summary.model_type, summary.id, context.signal);
  if (model === null || !isPublished(model)) {
    context.log.info('Threat model skipped: no longer published', {
      model_type: summary.model_type,
      model_id: summary.id,
    });
    return;
  }
  const related = await relatedObjects(model, context);
  yield* model.type === 'tipreport'
    ? bulletinBundles(model, related, context)
    : objectBundles(model, related, context);
}

/** The model's object with its associated models, then its indicators, each with relationships. */
async function* objectBundles(
  model: ThreatModel,
  related: readonly Related[],
  context: ModelImportContext,
): AsyncGenerator<Bundle> {
  const mapped = modelObjectOf(model, context.settings.mapping);
  if (!mapped.ok) {
    skipped(model, mapped.detail, context);
    return;
  }
  const own = mapped.object;
  const { author } = context.settings.mapping;
  const links = related
    .filter((other) => other.object.id !== own.id)
    .map((other) =>
      relationshipBetween(own, other.object, { author, at: other.linkedAt ?? own.modified }),
    );
  yield bundleOf([own, ...related.map((r) => r.object), ...links], context);
  for await (const indicators of indicatorBatches(model, context)) {
    const indicates = indicators.map((linked) =>
      relationshipBetween(linked.indicator, own, { author, at: linked.linkedAt ?? own.modified }),
    );
    yield bundleOf([own, ...indicators.map((linked) => linked.indicator), ...indicates], context);
  }
}

function skipped(model: ThreatModel, detail: string, context: ModelImportContext): void {
  context.log.warn('Threat model skipped', { model_type: model.type, model_id: model.id, detail });
}

/** A bulletin's models and indicators, then the report that references every one of them. */
async function* bulletinBundles(
  model: ThreatModel,
  related: readonly Related[],
  context: ModelImportContext,
): AsyncGenerator<Bundle> {
  const refs: string[] = related.map((r) => r.object.id);
  if (related.length > 0)
    yield bundleOf(
      related.map((r) => r.object),
      context,
    );
  for await (const indicators of indicatorBatches(model, context)) {
    refs.push(...indicators.map((linked) => linked.indicator.id));
    yield bundleOf(
      indicators.map((linked) => linked.indicator),
      context,
    );
  }
  const report = reportOf(model, refs, context.settings.mapping);
  if (!report.ok) {
    skipped(model, report.detail, context);
    return;
  }
  yield bundleOf([report.object], context);
}

interface Related {
  object: ModelObject;
  /** When the association was made, as a STIX timestamp. */
  linkedAt: string | undefined;
}

/** The published models of the configured types associated with the model, each once. */
async function relatedObjects(model: ThreatModel, context: ModelImportContext): Promise<Related[]> {
  const byId = new Map<string, Related>();
  for (const other of associationTypesOf(model.type, context.settings.types)) {
    for await (const page of context.client.associations(
      model.type,
      model.id,
      other,
      context.signal,
    )) {
      for (const associated of page) {
        const mapped = modelObjectOf(associated, context.settings.mapping);
        if (!mapped.ok || byId.has(mapped.object.id)) continue;
        byId.set(mapped.object.id, {
          object: mapped.object,
          linkedAt: stixTimestampOf(associated.association_info?.[0]?.created),
        });
      }
    }
  }
  return [...byId.values()];
}

/** The indicators of the model's IOCs that pass the IOC filters, at most a batch at a time. */
async function* indicatorBatches(
  model: ThreatModel,
  context: ModelImportContext,
): AsyncGenerator<LinkedIndicator[]> {
  const { iocFilters, convert } = context.settings;
  for await (const page of context.client.iocPages(model.type, model.id, context.signal)) {
    const indicators = linkedIndicators(page.iocs, iocFilters, convert);
    for (let start = 0; start < indicators.length; start += MAX_BATCH_INDICATORS) {
      yield indicators.slice(start, start + MAX_BATCH_INDICATORS);
    }
  }
}

/** Every object of a bundle but the author and the markings themselves. */
type MarkedObject = Extract<StixObject, { object_marking_refs: readonly string[] }>;

/** A self-contained bundle: the author and the markings its objects reference travel with them. */
function bundleOf(objects: readonly MarkedObject[], context: ModelImportContext): Bundle {
  const { author } = context.settings.mapping;
  return {
    type: 'bundle',
    id: stixIdSchema('bundle').parse(`bundle--${randomUUID()}`),
    spec_version: '2.1',
    objects: [author, ...markingsReferencedBy(objects), ...objects],
  };
}
