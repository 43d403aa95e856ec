import type { IocType } from '../ioc-types';
import type { Logger } from '../log';
import { convertRecord, type ConvertOptions } from '../stix/convert';
import type { Page } from '../threatstream/client';
import type { PageIndicator } from './deactivations';
import type { RunObserver } from './observer';

type Tracker = Required<Pick<RunObserver, 'fetched' | 'skipped' | 'truncated'>>;

/**
 * The indicators of a page's records, each with its record's `update_id`. Every record is counted as fetched; a record that cannot
 * become an indicator is counted as skipped and logged with its ThreatStream id. Records that
 * make the same indicator collapse to the one with the newest `update_id`, wherever it stands.
 */
export function indicatorsOf(
  type: IocType,
  page: Page,
  options: ConvertOptions,
  track: Tracker,
  log: Logger,
): PageIndicator[] {
  track.fetched(type, page.records.length + page.rejected.length);
  for (const { id, reason, detail } of page.rejected) {
    track.skipped(type, reason);
    log.warn('ThreatStream record skipped', {
      ioc_type: type,
      threatstream_id: id,
      reason,
      detail,
    });
  }
  const newest = new Map<string, PageIndicator>();
  for (const record of page.records) {
    const result = convertRecord(record, options);
    if (result.ok) {
      if (result.truncated) track.truncated(type);
      const updateId = BigInt(record.update_id);
      const seen = newest.get(result.indicator.id);
      if (!seen || seen.updateId < updateId) {
        newest.set(result.indicator.id, { updateId, indicator: result.indicator });
      }
      continue;
    }
    track.skipped(type, result.reason);
    // Unsupported types are common and expected: not worth a warning.
    const level = result.reason === 'unsupported_type' ? 'debug' : 'warn';
    log.log(level, 'ThreatStream record skipped', {
      ioc_type: type,
      threatstream_id: record.id,
      reason: result.reason,
      detail: result.detail,
    });
  }
  return [...newest.values()];
}
