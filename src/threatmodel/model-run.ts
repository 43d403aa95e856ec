import type { Logger } from '../log';
import type { ModelCursor } from '../opencti/state';
import type { Bundle } from '../stix/types';
import type { ThreatModelClient } from '../threatstream/model-client';
import type { ModelSummary } from '../threatstream/model-schema';
import { cursorAfter, pendingChanges, windowStart } from './cursor';
import { modelBundles, type ModelImportSettings } from './model-import';

/**
 * The threat-model step of a run: the models changed since the models' cursor, oldest change
 * first and at most `maxPerRun` of them, each delivered whole before the cursor moves past it.
 */

export type ThreatModelSource = Pick<
  ThreatModelClient,
  'discover' | 'detail' | 'iocPages' | 'associations'
>;

export interface ThreatModelSettings extends ModelImportSettings {
  /** Changed models imported per run; the others wait for the next run. */
  maxPerRun: number;
}

export interface ModelWindowBounds {
  /** Where a cold start (no models' cursor) begins. */
  coldStartFrom: Date;
  /** The stability bound: models changed since are left for the next run. */
  until: Date;
}

export interface ModelRunDependencies {
  client: ThreatModelSource;
  /** Sends a bundle down the run's delivery line; false when the run must end first. */
  deliver(bundle: Bundle): Promise<boolean>;
  /** Runs `task` once everything sent so far is accepted. */
  afterDelivered(task: () => Promise<void>): void;
  /** Persists the models' cursor once the model it moved past is accepted whole. */
  save(cursor: ModelCursor, model: ModelSummary): Promise<void>;
  log: Logger;
  signal: AbortSignal;
}

export async function importThreatModels(
  deps: ModelRunDependencies,
  settings: ThreatModelSettings,
  bounds: ModelWindowBounds,
  cursor: ModelCursor | undefined,
): Promise<void> {
  if (settings.types.length === 0) return;
  const since = windowStart(cursor, bounds.coldStartFrom);
  const window = { types: settings.types, since, until: bounds.until };
  const pending = pendingChanges(await deps.client.discover(window, deps.signal), cursor);
  const batch = pending.slice(0, settings.maxPerRun);
  deps.log.info('Threat models changed', {
    since: since.toISOString(),
    until: bounds.until.toISOString(),
    changed: pending.length,
    importing: batch.length,
  });
  const context = { client: deps.client, settings, log: deps.log, signal: deps.signal };
  let position = cursor;
  for (const summary of batch) {
    for await (const bundle of modelBundles(summary, context)) {
      if (!(await deps.deliver(bundle))) return;
    }
    const reached = (position = cursorAfter(position, summary));
    deps.afterDelivered(() => deps.save(reached, summary));
  }
}
