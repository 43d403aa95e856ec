import { importStartAt, type ImportStart } from '../config';
import type { IocType } from '../ioc-types';
import { serializeError, type Logger } from '../log';
import type { ConnectorState, ModelCursor, StateStore } from '../opencti/state';
import type { Works } from '../opencti/works';
import type { BundleSink } from '../sinks/sink';
import { buildBundles } from '../stix/batches';
import type { Indicator, StixObject } from '../stix/types';
import type { ConvertOptions } from '../stix/convert';
import type { Bundle } from '../stix/types';
import {
  importThreatModels,
  type ThreatModelSettings,
  type ThreatModelSource,
} from '../threatmodel/model-run';
import type { Page, PageQuery, ThreatStreamClient } from '../threatstream/client';
import { ThreatStreamRequestError } from '../threatstream/errors';
import type { ModelSummary } from '../threatstream/model-schema';
import { WaitingDeactivations } from './deactivations';
import { DeliveryLine } from './delivery-line';
import { everyObserver, type RunObserver } from './observer';
import { indicatorsOf } from './page-indicators';
import { LOOKUP_BATCH, type RevocationFilter } from './revocations';
import { RunSummary, type TypeCounts } from './summary';

export interface RunSettings {
  connectorName: string;
  types: readonly IocType[];
  importStart: ImportStart;
  stabilityDelayMs: number;
  minConfidence: number | undefined;
  feedIds: readonly string[];
  trustedCircleIds: readonly string[];
  convert: ConvertOptions;
  /** The threat models to import after the IOC types; none without. */
  threatModels?: ThreatModelSettings;
}

export interface RunDependencies {
  client: Pick<ThreatStreamClient, 'pages'>;
  /** Where the threat models come from; without it, the run imports IOCs only. */
  threatModels?: ThreatModelSource;
  sink: BundleSink;
  state: StateStore;
  /** Null in a dry run: there is no OpenCTI. */
  works: Pick<Works, 'start' | 'finish'> | null;
  queueGate: { waitForRoom(signal?: AbortSignal): Promise<void> } | null;
  logger: Logger;
  now: () => Date;
  /** Drops revocations of indicators OpenCTI does not hold. */
  revocations: RevocationFilter;
  /** Sees what the summary sees (metrics, progress lines). */
  observer?: RunObserver;
  /**
   * A single run: sends the last state and resolves with whether OpenCTI holds it. A run it
   * says no to ends `state_not_stored`. A daemon has none: its next pings carry the state.
   */
  finalState?: () => Promise<boolean>;
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
 * One import run: wait for room in the queue, open an OpenCTI work, then pages of every type →
 * indicators → bundles → delivery, one batch in flight while the next is prepared, and each
 * page's cursor saved once every batch holding it was accepted.
 */
export async function runOnce(
  deps: RunDependencies,
  settings: RunSettings,
  signals: RunSignals,
): Promise<RunSummary> {
  const summary = new RunSummary(deps.now());
  try {
    await deps.queueGate?.waitForRoom(signals.stop);
  } catch (error) {
    if (signals.stop.aborted) return summary.end(deps.now(), 'stopped');
    throw error;
  }
  const name = `${settings.connectorName} run @ ${summary.startedAt.toISOString()}`;
  const workId = (await deps.works?.start(name)) ?? null;
  return new ImportRun(deps, settings, signals, summary, workId).execute();
}

class ImportRun {
  private readonly log: Logger;
  private readonly observer: Required<RunObserver>;
  private readonly line = new DeliveryLine();
  /** Deactivations waiting for one OpenCTI lookup to cover many; this run's only. */
  private readonly waiting: WaitingDeactivations;
  /** Types whose last page is delivered while some of their deactivations still wait. */
  private readonly lastPageCursors = new Map<IocType, string>();
  private readonly generation: number;
  private readonly cursors: Partial<Record<IocType, string>>;
  private models: ModelCursor | undefined;

  constructor(
    private readonly deps: RunDependencies,
    private readonly settings: RunSettings,
    private readonly signals: RunSignals,
    private readonly summary: RunSummary,
    private readonly workId: string | null,
  ) {
    this.log = deps.logger.child({ work_id: workId });
    this.waiting = new WaitingDeactivations(deps.now);
    this.observer = everyObserver(deps.observer ? [summary, deps.observer] : [summary]);
    const { state, generation } = deps.state.load();
    this.generation = generation;
    this.cursors = { ...state.cursors };
    this.models = state.models;
    summary.cursors = { ...state.cursors };
  }

  async execute(): Promise<RunSummary> {
    this.log.info('Run started', { types: this.settings.types, cursors: this.cursors });
    let failedTypes: string[];
    try {
      failedTypes = await this.importPages();
      if (!this.mustEnd()) failedTypes.push(...(await this.importModels()));
    } catch (error) {
      // Whatever was accepted before the failure still gets its cursor saved.
      await this.line.drain().catch(() => undefined);
      if (this.signals.stop.aborted && !this.signals.abort.aborted) return this.end('stopped');
      return this.fail(error);
    }
    if (failedTypes.length > 0) return this.fail(new RunError(failedTypes.join('; ')));
    if (this.wasReset()) return this.end('reset');
    return this.end(this.signals.stop.aborted ? 'stopped' : 'completed');
  }

  /**
   * Delivers every page, then the deactivations still waiting; returns the types whose
   * ThreatStream requests failed for good.
   */
  private async importPages(): Promise<string[]> {
    const failedTypes: string[] = [];
    let whole = true;
    for await (const item of this.deps.client.pages(this.queries(), this.signals.stop)) {
      if ('failure' in item) {
        failedTypes.push(`${item.type}: ${item.failure.message}`);
        this.log.error('IOC type failed; its cursor stays at its last delivered page', {
          ioc_type: item.type,
          error: serializeError(item.failure),
        });
      } else if (!(await this.deliverPage(item.type, item.page))) {
        whole = false;
        break;
      }
    }
    if (whole && !this.signals.stop.aborted) await this.sendDeactivations(1);
    await this.line.drain();
    return failedTypes;
  }

  /** Sends the page's batches down the line; false when the run must end before the page is whole. */
  private async deliverPage(type: IocType, page: Page): Promise<boolean> {
    // The page's own counts: the next page may be converted before this one is saved.
    const pageCounts = new RunSummary(this.deps.now());
    const track = everyObserver([this.observer, pageCounts]);
    const live = this.waiting.admit(
      type,
      indicatorsOf(type, page, this.settings.convert, track, this.log),
    );
    if (!(await this.sendIndicators(type, live, track))) return false;
    const cursor = this.waiting.cursorAfter(type, page.cursor);
    this.line.afterDelivered(() => this.saveCursor(type, cursor, pageCounts.typeCounts(type)));
    if (!page.hasMore && cursor !== page.cursor) this.lastPageCursors.set(type, page.cursor);
    const { verifies } = this.deps.revocations;
    return this.sendDeactivations(verifies ? LOOKUP_BATCH : 1, track);
  }

  /** Bundles and sends indicators of a type; false when the run must end first. */
  private async sendIndicators(
    type: IocType,
    indicators: readonly Indicator[],
    track: Required<RunObserver>,
  ): Promise<boolean> {
    for (const bundle of buildBundles(indicators, this.settings.convert.author)) {
      if (this.signals.stop.aborted || this.wasReset()) return false;
      await this.deps.queueGate?.waitForRoom(this.signals.stop);
      // Once prepared, a bundle counts in the work's expectations: it is sent even if a stop comes.
      const prepared = await this.deps.sink.prepare(bundle, this.workId);
      const sent = this.leaveOutTooLarge(type, bundle.objects, prepared.tooLarge ?? [], track);
      await this.line.send(async () => {
        await prepared.deliver(this.signals.abort);
        track.delivered(type, sent, prepared.messages);
      });
    }
    return !this.wasReset();
  }

  /**
   * Checks waiting deactivations 500 at a time, as long as at least `atLeast` wait, and sends
   * those OpenCTI holds, counted by `track` (the page's when a page's delivery sends them); then
   * saves the last cursor of every type left with none waiting.
   */
  private async sendDeactivations(
    atLeast: number,
    track: Required<RunObserver> = this.observer,
  ): Promise<boolean> {
    while (this.waiting.size >= Math.max(atLeast, 1)) {
      const checked = await this.deps.revocations.keep(this.waiting.take(LOOKUP_BATCH), track);
      for (const type of new Set(checked.map((c) => c.type))) {
        const indicators = checked.filter((c) => c.type === type).map((c) => c.indicator);
        if (!(await this.sendIndicators(type, indicators, track))) return false;
      }
    }
    for (const [type, cursor] of this.lastPageCursors) {
      if (this.waiting.holds(type)) continue;
      this.lastPageCursors.delete(type);
      this.line.afterDelivered(() => this.saveCursor(type, cursor, null));
    }
    return true;
  }

  /** Objects the sink could not send are skipped for good: the cursor moves past them. */
  private leaveOutTooLarge(
    type: IocType,
    objects: readonly StixObject[],
    tooLarge: readonly StixObject[],
    track: Required<RunObserver>,
  ): readonly StixObject[] {
    for (const object of tooLarge) {
      track.skipped(type, 'too_large');
      this.log.warn('STIX object left out: its message exceeds MQ_MAX_MESSAGE_MB', {
        ioc_type: type,
        stix_id: object.id,
      });
    }
    return tooLarge.length === 0 ? objects : objects.filter((o) => !tooLarge.includes(o));
  }

  /** Imports the changed threat models; returns the failure that ended the step, if any. */
  private async importModels(): Promise<string[]> {
    const { threatModels: client } = this.deps;
    const settings = this.settings.threatModels;
    if (client === undefined || settings === undefined) return [];
    const deps = {
      client,
      deliver: (bundle: Bundle) => this.deliverModelBundle(bundle),
      afterDelivered: (task: () => Promise<void>) => this.line.afterDelivered(task),
      save: (cursor: ModelCursor, model: ModelSummary) => this.saveModelCursor(cursor, model),
      log: this.log,
      signal: this.signals.stop,
    };
    try {
      await importThreatModels(deps, settings, this.windowBounds(), this.models);
      await this.line.drain();
      return [];
    } catch (error) {
      if (!(error instanceof ThreatStreamRequestError) || this.signals.stop.aborted) throw error;
      await this.line.drain();
      this.log.error('Threat models failed; their cursor stays at the last model delivered', {
        error: serializeError(error),
      });
      return [`threat models: ${error.message}`];
    }
  }

  private async deliverModelBundle(bundle: Bundle): Promise<boolean> {
    if (this.mustEnd()) return false;
    await this.deps.queueGate?.waitForRoom(this.signals.stop);
    const prepared = await this.deps.sink.prepare(bundle, this.workId);
    await this.line.send(async () => {
      await prepared.deliver(this.signals.abort);
      this.observer.modelDelivered(bundle.objects, prepared.messages);
    });
    return true;
  }

  private async saveModelCursor(cursor: ModelCursor, model: ModelSummary): Promise<void> {
    this.models = cursor;
    if (!(await this.deps.state.save(this.state(), this.generation))) return;
    this.observer.modelSaved(model.model_type, model.id);
    this.log.info('Threat model imported', {
      model_type: model.model_type,
      model_id: model.id,
      modified_ts: model.modified_ts,
    });
  }

  private state(): ConnectorState {
    const cursors = { ...this.cursors };
    return this.models === undefined ? { cursors } : { cursors, models: this.models };
  }

  /** `page` is null when the cursor moves past deactivations sent after the type's last page. */
  private async saveCursor(type: IocType, cursor: string, page: TypeCounts | null): Promise<void> {
    this.cursors[type] = cursor;
    if (!(await this.deps.state.save(this.state(), this.generation))) return;
    this.observer.pageSaved(type, cursor, page);
    const message = page === null ? 'Deactivations imported' : 'Page imported';
    this.log.info(message, { ioc_type: type, ...this.summary.typeCounts(type), cursor });
  }

  /** Where a cold start begins, and the stability bound: the same for IOCs and threat models. */
  private windowBounds(): { coldStartFrom: Date; until: Date } {
    const { startedAt } = this.summary;
    return {
      coldStartFrom: importStartAt(this.settings.importStart, startedAt),
      until: new Date(startedAt.getTime() - this.settings.stabilityDelayMs),
    };
  }

  private queries(): PageQuery[] {
    const { settings } = this;
    const { coldStartFrom, until } = this.windowBounds();
    return settings.types.map((type) => {
      const cursor = this.cursors[type] ?? null;
      if (cursor === null) {
        this.log.info('Cold start for this IOC type', {
          ioc_type: type,
          since: coldStartFrom.toISOString(),
        });
      }
      return {
        type,
        cursor,
        coldStartFrom,
        until,
        feedIds: settings.feedIds,
        trustedCircleIds: settings.trustedCircleIds,
        ...(settings.minConfidence !== undefined && { minConfidence: settings.minConfidence }),
      };
    });
  }

  private mustEnd(): boolean {
    return this.signals.stop.aborted || this.wasReset();
  }

  private wasReset(): boolean {
    return this.deps.state.load().generation !== this.generation;
  }

  private async end(ended: 'completed' | 'stopped' | 'reset'): Promise<RunSummary> {
    const stored = ended !== 'completed' || ((await this.deps.finalState?.()) ?? true);
    const outcome = stored ? ended : 'state_not_stored';
    const summary = this.summary.end(this.deps.now(), outcome);
    await this.deps.works?.finish(this.workId, summary.describe(), !stored);
    this.log.info('Run ended', summary.toJSON());
    return summary;
  }

  private async fail(error: unknown): Promise<never> {
    this.summary.end(this.deps.now(), 'failed');
    const reason = error instanceof Error ? error.message : String(error);
    await this.deps.works?.finish(
      this.workId,
      `Run failed: ${reason}. ${this.summary.describe()}`,
      true,
    );
    throw new RunError(`Run failed: ${reason}`, { cause: error });
  }
}
