import type { RunSettings } from '../src/connector/run';
import { workerMessageBodies } from '../src/opencti/messages';
import { buildBundles } from '../src/stix/batches';
import { convertRecord } from '../src/stix/convert';
import type { Indicator } from '../src/stix/types';
import { parseRecords } from '../src/threatstream/schema';
import { WIRE_TYPE } from '../src/threatstream/query';
import { expectedRecords } from '../stand-ins/threatstream/simulator';

/**
 * The message bodies a cold-start run over the first `total` simulated records publishes, batch
 * by batch, built with the connector's own code: per type, pages of `pageSize` active records,
 * converted, bundled and split into worker messages. The bare publisher sends exactly these.
 */
export function coldStartBatches(options: {
  total: number;
  feedStart: Date;
  settings: RunSettings;
  pageSize: number;
  applicantId: string;
  workId: string;
}): Buffer[][] {
  const { settings } = options;
  const context = { applicantId: options.applicantId, workId: options.workId };
  const batches: Buffer[][] = [];
  const publishPage = (page: unknown[]) => {
    const indicators: Indicator[] = [];
    for (const record of parseRecords(page).records) {
      const result = convertRecord(record, settings.convert);
      if (result.ok) indicators.push(result.indicator);
    }
    for (const bundle of buildBundles(indicators, settings.convert.author)) {
      batches.push(workerMessageBodies(bundle, context));
    }
  };
  for (const type of settings.types) {
    let page: unknown[] = [];
    for (const record of expectedRecords(options.total, WIRE_TYPE[type], {
      startTime: options.feedStart,
    })) {
      if (record.status !== 'active') continue;
      page.push(record);
      if (page.length === options.pageSize) {
        publishPage(page);
        page = [];
      }
    }
    if (page.length > 0) publishPage(page);
  }
  return batches;
}
