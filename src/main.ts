import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, secretsOf, type Config } from './config';
import type { RunSignals } from './connector/run';
import { runDaemon } from './daemon';
import { threatStreamTransport } from './connector/settings';
import { dryRun } from './dryrun/dry-run';
import { isFatal } from './fatal';
import { createLogger, logsFlushed, serializeError, type Logger } from './log';
import { OpenCtiUnusableError } from './opencti/registration';
import { packageVersion } from './package-version';
import { checkThreatStreamAccess, ThreatStreamAccessError } from './threatstream-check';
import { USAGE } from './usage';

/** How long a stopping daemon lets the batch in flight finish before giving up on it. */
const SHUTDOWN_GRACE_MS = 10_000;
/** How long the exit waits for a slow reader to take the last log lines. */
const LOG_FLUSH_TIMEOUT_MS = 5000;

/** `process.exit` drops what stdout has not taken yet: the end of the log goes out first. */
async function exitAfterLogs(code: number): Promise<never> {
  await logsFlushed(process.stdout, LOG_FLUSH_TIMEOUT_MS);
  process.exit(code);
}

const OPTIONS = {
  'dry-run': { type: 'boolean' },
  out: { type: 'string' },
  state: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** Command-line flags are shorthands for their configuration keys and win over them. */
function environmentWithFlags(values: Flags): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...(values['dry-run'] && { CONNECTOR_DRY_RUN: 'true' }),
    ...(values.out !== undefined && { CONNECTOR_DRY_RUN_OUT: values.out }),
    ...(values.state !== undefined && { CONNECTOR_DRY_RUN_STATE: values.state }),
  };
}

/** `--help` and `--version` answer and exit; a wrong flag is a usage error. */
function parseFlags(argv: string[]): Flags | number {
  let values: Flags;
  try {
    values = parseArgs({ args: argv, options: OPTIONS }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) process.stdout.write(USAGE);
  else if (values.version) process.stdout.write(`${packageVersion()}\n`);
  else return values;
  return 0;
}

/** The configuration, and what it did not know; or the exit code of a configuration error. */
function configure(flags: Flags): { config: Config; unknownSettings: string[] } | number {
  const unknownSettings: string[] = [];
  try {
    const config = loadConfig(environmentWithFlags(flags), process.cwd(), {
      warn: (message) => unknownSettings.push(message),
    });
    return { config, unknownSettings };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger({ level: 'error', secrets: [] }).error(`Invalid configuration: ${error.message}`);
    return 2;
  }
}

/** SIGTERM or SIGINT stops after the batch in flight; a second one, or the grace period, aborts. */
function stopSignals(logger: Logger): RunSignals {
  const stop = new AbortController();
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      logger.warn('Second signal: exiting now', { signal });
      void exitAfterLogs(1);
      return;
    }
    logger.info('Stopping: finishing the batch in flight, then saving state', { signal });
    stop.abort(new Error(`received ${signal}`));
    setTimeout(
      () => abort.abort(new Error('shutdown grace period over')),
      SHUTDOWN_GRACE_MS,
    ).unref();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return { stop: stop.signal, abort: abort.signal };
}

async function run(
  config: Config,
  logger: Logger,
  signals: RunSignals,
  secrets: string[],
): Promise<number> {
  try {
    const transport = threatStreamTransport(config);
    await checkThreatStreamAccess(transport, config.anomali.url, logger, signals.stop);
    if (!config.connector.dry_run) return await runDaemon(config, logger, signals, secrets);
    const { summary, files } = await dryRun(config, logger, signals);
    logger.info('Dry run finished', { bundles_written: files.length, ...summary.toJSON() });
    return 0;
  } catch (error) {
    if (error instanceof ThreatStreamAccessError || error instanceof OpenCtiUnusableError) {
      logger.error(error.message);
      logger.debug('Start-up failed', { error: serializeError(error) });
      return 1;
    }
    logger.error(
      isFatal(error) ? 'Stopping: this error needs a configuration change' : 'Run failed',
      {
        error: serializeError(error),
      },
    );
    return 1;
  }
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  if (typeof flags === 'number') return flags;
  const configured = configure(flags);
  if (typeof configured === 'number') return configured;
  const { config, unknownSettings } = configured;
  const secrets = secretsOf(config);
  const logger = createLogger({ level: config.connector.log_level, secrets });
  for (const message of unknownSettings) {
    logger.warn(`Ignored setting: ${message} (CONNECTOR_STRICT_CONFIG=true refuses it)`);
  }
  return run(config, logger, stopSignals(logger), secrets);
}

void main().then(exitAfterLogs);
