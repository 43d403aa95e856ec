import { loadConfig } from '../src/config';
import { runSettings } from '../src/connector/settings';
import { linkedIndicators } from '../src/threatmodel/linked-iocs';
import type { LinkedIoc } from '../src/threatstream/model-client';
import { linkedIocScopeSchema } from '../src/threatstream/model-schema';
import { parseRecords } from '../src/threatstream/schema';
import { recordAt } from '../stand-ins/threatstream/simulator';
import { startEnvironment, type BenchEnvironment } from './environment';
import { START_UP_CHECK, importOnce, perSecond, type Import } from './import-run';
import { integer, megabytes, progress, seconds, type Row } from './report';

/**
 * One published bulletin linked to many IOCs, imported with ANOMALI_THREAT_MODEL_TYPES=tipreport
 * and an empty IOC feed: the threat-model import's throughput, requests and memory.
 */

const PEAK_RSS_GOAL_BYTES = 200 * 1024 * 1024;
/** ThreatStream's largest page, which the connector asks for a model's IOCs. */
const IOC_PAGE_SIZE = 1000;
/** The start-up check, one empty page per IOC type, one search (bulletins) and the bulletin's detail. */
const requestsBesidesIocPages = (iocTypes: number) => START_UP_CHECK + iocTypes + 1 + 1;

/** The indicators the bulletin's IOCs become, by the connector's filters and conversion. */
function expectedIndicators(env: BenchEnvironment, iocs: number): number {
  const settings = runSettings(loadConfig(env.daemonEnv)).threatModels;
  if (settings === undefined) throw new Error('the threat-model import is off');
  const linked: LinkedIoc[] = [];
  for (let i = 0; i < iocs; i++) {
    const object = recordAt(i, { startTime: env.feedStart });
    const scope = linkedIocScopeSchema.parse(object);
    for (const record of parseRecords([object]).records) linked.push({ record, scope });
  }
  return linkedIndicators(linked, settings.iocFilters, settings.convert).length;
}

async function bulletinImport(iocs: number): Promise<{ run: Import; indicators: number }> {
  const env = await startEnvironment({
    total: 0,
    threatModelTypes: 'tipreport',
    // No other model of the imported type: the one bulletin, linked to the first `iocs` records.
    models: { perType: 0, largeBulletinIocs: iocs, feedTotal: iocs },
  });
  try {
    return { run: await importOnce(env), indicators: expectedIndicators(env, iocs) };
  } finally {
    await env.close();
  }
}

export async function bulletinRows(iocs: number, iocTypes: number): Promise<Row[]> {
  progress(`bulletin linked to ${integer(iocs)} IOCs`);
  const { run, indicators } = await bulletinImport(iocs);
  const { summary } = run;
  const sent = summary.threat_models.objects;
  const requestBound = requestsBesidesIocPages(iocTypes) + Math.ceil(iocs / IOC_PAGE_SIZE);
  return [
    {
      measure: `Bulletin linked to ${integer(iocs)} IOCs (model types: tipreport)`,
      result: `${integer(perSecond(iocs, run.wallMs))} linked IOCs/s (${seconds(run.wallMs)})`,
      goal: '',
    },
    {
      measure: '  its ThreatStream requests',
      result: `${run.requests}`,
      goal: `<= start-up check + 1 per IOC type + 1 search + 1 detail + 1 per 1,000 IOCs (${requestBound})`,
      met: run.requests <= requestBound,
    },
    {
      measure: '  its messages',
      result: `${integer(sent['indicator'] ?? 0)} indicators (expected ${integer(indicators)}) and ${sent['report'] ?? 0} report; ${integer(summary.messages)} published, ${integer(run.queued)} queued`,
      goal: 'every indicator and the report, all queued',
      met:
        sent['indicator'] === indicators && sent['report'] === 1 && run.queued === summary.messages,
    },
    {
      measure: `Peak RSS, bulletin of ${integer(iocs)} IOCs`,
      result: megabytes(run.run.peakRssBytes),
      goal: `< ${megabytes(PEAK_RSS_GOAL_BYTES)}`,
      met: run.run.peakRssBytes < PEAK_RSS_GOAL_BYTES,
    },
  ];
}
