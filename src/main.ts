import { ConfigError, loadConfig, secretsOf } from './config';
import { runDaemon } from './daemon';
import { createLogger, serializeError } from './log';

/** How long a stopping daemon lets the batch in flight finish before giving up on it. */
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger({ level: 'error', secrets: [] }).error(`Invalid configuration: ${error.message}`);
    return 2;
  }
  const logger = createLogger({ level: config.connector.log_level, secrets: secretsOf(config) });

  const stop = new AbortController();
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      logger.warn('Second signal: exiting now', { signal });
      process.exit(1);
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

  try {
    return await runDaemon(config, logger, { stop: stop.signal, abort: abort.signal });
  } catch (error) {
    logger.error('Unexpected failure', { error: serializeError(error) });
    return 1;
  }
}

void main().then((code) => process.exit(code));
