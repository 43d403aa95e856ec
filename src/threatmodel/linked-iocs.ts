import { IOC_TYPES, type IocType } from '../ioc-types';
import { convertRecord, type ConvertOptions } from '../stix/convert';
import { stixTimestampOf } from '../stix/timestamps';
import type { Indicator } from '../stix/types';
import type { LinkedIoc } from '../threatstream/model-client';
import { WIRE_TYPE } from '../threatstream/query';

/**
 * The IOCs a model links to, kept only when the IOC import would have imported them itself, and
 * converted by the same code: a model never brings in an indicator the IOC filters keep out.
 */

export interface IocFilters {
  types: readonly IocType[];
  minConfidence: number | undefined;
  feedIds: readonly string[];
  trustedCircleIds: readonly string[];
}

/** A linked IOC's indicator and when the link was made, as a STIX timestamp when known. */
export interface LinkedIndicator {
  indicator: Indicator;
  linkedAt: string | undefined;
}

const iocTypeOf = (wireType: string): IocType | undefined =>
  IOC_TYPES.find((type) => WIRE_TYPE[type] === wireType.trim().toLowerCase());

export function passesIocFilters({ record, scope }: LinkedIoc, filters: IocFilters): boolean {
  const type = iocTypeOf(record.type);
  if (type === undefined || !filters.types.includes(type)) return false;
  if (record.status.trim().toLowerCase() !== 'active') return false;
  const { minConfidence, feedIds, trustedCircleIds } = filters;
  if (minConfidence !== undefined && !((record.confidence ?? -1) >= minConfidence)) return false;
  if (feedIds.length > 0 && !feedIds.includes(scope.feed_id ?? '')) return false;
  const circles = scope.trusted_circle_ids ?? [];
  return trustedCircleIds.length === 0 || circles.some((id) => trustedCircleIds.includes(id));
}

/** The indicators of the IOCs that pass the filters, each once. */
export function linkedIndicators(
  iocs: readonly LinkedIoc[],
  filters: IocFilters,
  options: ConvertOptions,
): LinkedIndicator[] {
  const byId = new Map<string, LinkedIndicator>();
  for (const ioc of iocs) {
    if (!passesIocFilters(ioc, filters)) continue;
    const result = convertRecord(ioc.record, options);
    if (!result.ok || byId.has(result.indicator.id)) continue;
    byId.set(result.indicator.id, {
      indicator: result.indicator,
      linkedAt: stixTimestampOf(ioc.scope.association_info?.[0]?.created),
    });
  }
  return [...byId.values()];
}
