import { resolve } from 'node:path';
import type { Config } from '../config';
import { runOnce, type RunSignals } from '../connector/run';
import type { RunSummary } from '../connector/summary';
import type { RunObserver } from '../connector/observer';
import { RevocationFilter } from '../connector/revocations';
import { runSettings, threatModelClient, threatStreamClient } from '../connector/settings';
import type { FeedItem, PageQuery, ThreatStreamClient } from '../threatstream/client';
import type { Logger } from '../log';
import { DirectorySink } from './directory-sink';
import { FileStateStore } from './file-state';

export interface DryRunResult {
  summary: RunSummary;
  files: string[];
}

/**
 * One run without OpenCTI or RabbitMQ: fetch from ThreatStream, convert, and write each batch
 * as a bundle file. The cursors live in a local file, so a second dry run is incremental.
 */
export async function dryRun(
  config: Config,
  logger: Logger,
  signals: RunSignals,
  /** Sees the run's progress (the demo's lines). */
  observer?: RunObserver,
): Promise<DryRunResult> {
  const startedAt = new Date();
  const out = resolve(config.connector.dry_run_out);
  const sink = new DirectorySink(out, startedAt.toISOString().replace(/[:.]/g, '-'));
  logger.info('Dry run: bundles go to files, cursors to a local state file', {
    out,
    state: resolve(config.connector.dry_run_state),
  });
  const summary = await runOnce(
    {
      client: untilFirstFailure(threatStreamClient(config, logger)),
      threatModels: threatModelClient(config, logger),
      sink,
      state: new FileStateStore(resolve(config.connector.dry_run_state)),
      works: null,
      // Without OpenCTI nothing can say which indicators exist: deactivations are written as they come.
      revocations: new RevocationFilter(null, logger),
      queueGate: null,
      logger,
      now: () => new Date(),
      ...(observer && { observer }),
    },
    runSettings(config),
    signals,
  );
  return { summary, files: sink.written };
}

/**
 * The feed, ended by the first type that fails: a dry run checks an account, and the same
 * failure on every other type would only make its answer minutes later.
 */
function untilFirstFailure(client: ThreatStreamClient): Pick<ThreatStreamClient, 'pages'> {
  return {
    async *pages(queries: readonly PageQuery[], signal: AbortSignal): AsyncGenerator<FeedItem> {
      for await (const item of client.pages(queries, signal)) {
        yield item;
        if ('failure' in item) return;
      }
    },
  };
}
