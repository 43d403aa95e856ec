import { importStartAt, type ImportStart } from '../config';
import { serializeError, type Logger } from '../log';
import type { StateStore } from '../opencti/state';
import type { Works } from '../opencti/works';
import type { BundleSink } from '../sinks/sink';
import { buildBundles } from '../stix/batches';
import { convertRecord, type ConvertOptions } from '../stix/convert';
import type { Indicator } from '../stix/types';
import type { IocType } from '../ioc-types';
import {
  ThreatStreamRequestError,
  type Page,
  type PageQuery,
  type ThreatStreamClient,
} from '../threatstream/client';
import { DeliveryLine } from './delivery-line';
import { TypePages } from './type-pages';
import { RunSummary, type RunObserver } from './summary';

export interface RunSettings {
  connectorName: string;
  types: readonly IocType[];
  importStart: ImportStart;
  stabilityDelayMs: number;
  minConfidence: number | undefined;
  feedIds: readonly string[];
  trustedCircleIds: readonly string[];
  convert: ConvertOptions;
}

export interface RunDependencies {
  client: Pick<ThreatStreamClient, 'pages'>;
  sink: BundleSink;
  state: StateStore;
  /** Null in a dry run: there is no OpenCTI. */
  works: Pick<Works, 'start' | 'finish'> | null;
  queueGate: { waitForRoom(signal?: AbortSignal): Promise<void> } | null;
  logger: Logger;
  now: () => Date;
  /** Sees what the summary sees (metrics). */
  observer?: RunObserver;
  /** Told after every page whose batches were all delivered (progress lines). */
  onPage?: (type: IocType, summary: RunSummary) => void;
}

export interface RunSignals {
  /** Stop fetching: the batch in flight still completes, then the run ends cleanly. */
  stop: AbortSignal;
  /** Give up on the batch in flight too (a second signal, or the shutdown deadline). */
  abort: AbortSignal;
}

export class RunError extends Error {
  override name = 'RunError';
}

/**
 * One import run: for each IOC type, pull pages after its cursor, convert, deliver the batches,
 * and advance the cursor only once every batch holding the page was accepted.
 */
export async function runOnce(
  deps: RunDependencies,
  settings: RunSettings,
  signals: RunSignals,
): Promise<RunSummary> {
  const startedAt = deps.now();
  const summary = new RunSummary(startedAt);
  const observers: RunObserver[] = deps.observer ? [summary, deps.observer] : [summary];
  const track: RunObserver = {
    fetched: (type, n) => observers.forEach((o) => o.fetched(type, n)),
    skipped: (type, reason) => observers.forEach((o) => o.skipped(type, reason)),
    delivered: (type, objects, n) => observers.forEach((o) => o.delivered(type, objects, n)),
    page: (type, cursor) => observers.forEach((o) => o.page(type, cursor)),
  };
  const log = deps.logger;
  const { state, generation } = deps.state.load();
  const cursors = { ...state.cursors };
  summary.cursors = { ...cursors };

  try {
    await deps.queueGate?.waitForRoom(signals.stop);
  } catch (error) {
    if (signals.stop.aborted) return summary.end(deps.now(), 'stopped');
    throw error;
  }

  const workId =
    (await deps.works?.start(`${settings.connectorName} run @ ${startedAt.toISOString()}`)) ?? null;
  const runLog = log.child({ work_id: workId });
  runLog.info('Run started', { types: settings.types, cursors });

  const until = new Date(startedAt.getTime() - settings.stabilityDelayMs);
  const coldStartFrom = importStartAt(settings.importStart, startedAt);

  const line = new DeliveryLine();
  const reset = () => deps.state.load().generation !== generation;

  /**
   * Sends one page's batches down the line; false when the run must end before the page is
   * complete. `readAhead` is called once the last batch is prepared, before it waits its turn.
   */
  const deliver = async (type: IocType, page: Page, readAhead: () => void): Promise<boolean> => {
    const indicators: Indicator[] = [];
    track.fetched(type, page.records.length + page.rejected.length);
    for (const rejected of page.rejected) {
      track.skipped(type, rejected.reason);
      runLog.warn('ThreatStream record skipped', {
        ioc_type: type,
        threatstream_id: rejected.id,
        reason: rejected.reason,
        detail: rejected.detail,
      });
    }
    for (const record of page.records) {
      const result = convertRecord(record, settings.convert);
      if (result.ok) {
        indicators.push(result.indicator);
        continue;
      }
      track.skipped(type, result.reason);
      const level = result.reason === 'unsupported_type' ? 'debug' : 'warn';
      // Common and expected: skip formatting a line that the level would drop anyway.
      if (!runLog.isLevelEnabled(level)) continue;
      runLog.log(level, 'ThreatStream record skipped', {
        ioc_type: type,
        threatstream_id: record.id,
        reason: result.reason,
        detail: result.detail,
      });
    }
    const bundles = buildBundles(indicators, settings.convert.author);
    for (const [index, bundle] of bundles.entries()) {
      if (signals.stop.aborted || reset()) return false;
      await deps.queueGate?.waitForRoom(signals.stop);
      // Once prepared, a bundle counts in the work's expectations: it is sent even if a stop comes.
      const prepared = await deps.sink.prepare(bundle, workId);
      if (index === bundles.length - 1) readAhead();
      await line.send(async () => {
        await prepared.deliver(signals.abort);
        track.delivered(type, bundle.objects, prepared.messages);
      });
    }
    return true;
  };

  /** Saves the page's cursor once every batch holding the page (and those before) is accepted. */
  const completePage = (type: IocType, page: Page): void =>
    line.afterDelivered(async () => {
      cursors[type] = page.cursor;
      if (!(await deps.state.save({ cursors }, generation))) return;
      track.page(type, page.cursor);
      deps.onPage?.(type, summary);
      runLog.info('Page imported', {
        ioc_type: type,
        ...summary.typeCounts(type),
        cursor: page.cursor,
      });
    });

  const typePages = (type: IocType) =>
    new TypePages(() => {
      const query: PageQuery = {
        type,
        cursor: cursors[type] ?? null,
        coldStartFrom,
        until,
        feedIds: settings.feedIds,
        trustedCircleIds: settings.trustedCircleIds,
        ...(settings.minConfidence !== undefined && { minConfidence: settings.minConfidence }),
      };
      if (query.cursor === null) {
        runLog.info('Cold start for this IOC type', {
          ioc_type: type,
          since: coldStartFrom.toISOString(),
        });
      }
      return deps.client.pages(query, signals.stop);
    });
  const passes = settings.types.map((type) => ({ type, pages: typePages(type) }));
  /** A run that ends early may leave the next type's first page in flight. */
  const abandonPrefetches = () => {
    for (const { pages } of passes) void pages.close().catch(() => undefined);
  };

  /** Imports one type from its cursor; false when the run must end (stopped or reset). */
  const importType = async (index: number): Promise<boolean> => {
    const { type, pages } = passes[index]!;
    let ahead: Promise<IteratorResult<Page>> | undefined;
    /**
     * The next page is read (validated) while this page's last batch waits for the batch before
     * it, and converted while that last batch waits for its own confirms: the work between two
     * pages is split between the page's batches instead of all falling on the last one.
     */
    const readAhead = () => {
      ahead = pages.next();
      ahead.catch(() => undefined); // awaited below, or abandoned by close()
    };
    try {
      for (;;) {
        const step = await (ahead ?? pages.next());
        ahead = undefined;
        if (step.done) return true;
        const page = step.value;
        // The type's last page: the next type's first request goes out while it is delivered.
        if (!page.hasMore) passes[index + 1]?.pages.prefetch();
        if (reset() || !(await deliver(type, page, readAhead))) return false;
        completePage(type, page);
      }
    } finally {
      // A page still being read ahead is abandoned, as a prefetched first page is: the run does
      // not wait for ThreatStream to answer a request whose page it will not deliver.
      if (ahead) void pages.close().catch(() => undefined);
      else await pages.close();
    }
  };

  try {
    const failedTypes: string[] = [];
    for (const [index, { type }] of passes.entries()) {
      try {
        if (!(await importType(index))) break;
      } catch (error) {
        // One type's ThreatStream trouble must not starve the others; anything else ends the run.
        if (!(error instanceof ThreatStreamRequestError) || signals.stop.aborted) throw error;
        failedTypes.push(`${type}: ${error.message}`);
        runLog.error('IOC type failed; its cursor stays at its last delivered page', {
          ioc_type: type,
          error: serializeError(error),
        });
      }
      if (signals.stop.aborted) break;
    }
    abandonPrefetches();
    await line.drain();
    if (failedTypes.length > 0) throw new RunError(failedTypes.join('; '));
  } catch (error) {
    abandonPrefetches();
    // Whatever was accepted before the failure still gets its cursor saved.
    await line.drain().catch(() => undefined);
    if (signals.stop.aborted && !signals.abort.aborted) {
      return finish(deps, summary.end(deps.now(), 'stopped'), workId, runLog);
    }
    summary.end(deps.now(), 'failed');
    const reason = error instanceof Error ? error.message : String(error);
    await deps.works?.finish(workId, `Run failed: ${reason}. ${summary.describe()}`, true);
    throw new RunError(`Run failed: ${reason}`, { cause: error });
  }

  const outcome =
    deps.state.load().generation !== generation
      ? 'reset'
      : signals.stop.aborted
        ? 'stopped'
        : 'completed';
  return finish(deps, summary.end(deps.now(), outcome), workId, runLog);
}

async function finish(
  deps: RunDependencies,
  summary: RunSummary,
  workId: string | null,
  log: Logger,
): Promise<RunSummary> {
  await deps.works?.finish(workId, summary.describe(), false);
  log.info('Run ended', summary.toJSON());
  return summary;
}
