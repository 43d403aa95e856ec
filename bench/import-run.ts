import { queueDepth } from '../stand-ins/rabbitmq/broker';
import { runDaemon, type DaemonRun, type RunEnded } from './daemon-process';
import { startEnvironment, type BenchEnvironment, type EnvironmentOptions } from './environment';

export interface Import {
  run: DaemonRun;
  summary: RunEnded;
  /** ThreatStream requests the run made. */
  requests: number;
  /** First ThreatStream request to the ping storing the final cursors, sent right after the last confirm. */
  wallMs: number;
  /** The same, from the first page request: what the start-up check costs left out. */
  pagesMs: number;
  /** That ping to the work marked processed: the threat-model step, when no model changed. */
  afterCursorsMs: number;
  /** Messages the push queue holds after the run. */
  queued: number;
  /** GraphQL `indicators` queries: which revoked indicators OpenCTI holds. */
  lookups: number;
}

/** Every start of the daemon asks ThreatStream once whether its URL and credentials work. */
export const START_UP_CHECK = 1;

export const perSecond = (count: number, ms: number): number => count / (ms / 1000);

/** Runs the built daemon once and reads what it did from the simulator, the stub and the queue. */
export async function importOnce(env: BenchEnvironment, nodeFlags: string[] = []): Promise<Import> {
  const requestsBefore = (await env.simulator.requests()).count;
  const callsBefore = env.opencti.calls().length;
  const run = await runDaemon(env.daemonEnv, nodeFlags);
  const { summary } = run;
  if (run.exitCode !== 0 || summary?.outcome !== 'completed') {
    throw new Error(
      `the daemon exited ${run.exitCode} (${summary?.outcome ?? 'no summary'}):\n${run.problems.slice(0, 20).join('\n')}`,
    );
  }
  const log = await env.simulator.requests();
  const firstRequestAt = log.times[requestsBefore];
  const firstPageAt = log.times[requestsBefore + START_UP_CHECK];
  const calls = env.opencti.calls().slice(callsBefore);
  const finalState = env.opencti.state;
  const stored = calls.find(
    (c) => c.operationName === 'PingConnector' && c.variables.state === finalState,
  );
  const processed = calls.find((c) => c.operationName === 'WorkToProcessed');
  if (
    firstRequestAt === undefined ||
    firstPageAt === undefined ||
    stored === undefined ||
    processed === undefined
  ) {
    throw new Error(
      'the run made no ThreatStream request, never stored its final cursors or never ended its work',
    );
  }
  return {
    run,
    summary,
    requests: log.count - requestsBefore,
    wallMs: stored.at - firstRequestAt,
    pagesMs: stored.at - firstPageAt,
    afterCursorsMs: processed.at - stored.at,
    queued: await queueDepth(env.push.queue),
    lookups: calls.filter((c) => c.operationName === 'IndicatorsHeld').length,
  };
}

/** The first run of a fresh environment, then its teardown. */
export async function importFresh(
  options: EnvironmentOptions,
  nodeFlags: string[] = [],
): Promise<Import> {
  const env = await startEnvironment(options);
  try {
    return await importOnce(env, nodeFlags);
  } finally {
    await env.close();
  }
}
