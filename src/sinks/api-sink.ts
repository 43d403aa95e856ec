import { backoffDelay, sleep, type RetryPolicy } from '../backoff';
import { serializeError, type Logger } from '../log';
import type { OpenCtiApi } from '../opencti/api';
import type { Bundle } from '../stix/types';
import type { BundleSink } from './sink';

export interface ApiSinkOptions {
  api: Pick<OpenCtiApi, 'stixBundlePush'>;
  connectorId: string;
  logger: Logger;
  retry: RetryPolicy;
}

export class BundlePushError extends Error {
  override name = 'BundlePushError';
}

/** Sends each bundle whole through `stixBundlePush`, for deployments that cannot reach RabbitMQ. */
export class ApiSink implements BundleSink {
  constructor(private readonly options: ApiSinkOptions) {}

  async send(bundle: Bundle, workId: string | null, signal?: AbortSignal): Promise<number> {
    const { api, connectorId, logger, retry } = this.options;
    const body = JSON.stringify(bundle);
    for (let attempt = 0; ; attempt++) {
      try {
        await api.stixBundlePush(connectorId, body, workId);
        return 1;
      } catch (error) {
        if (attempt + 1 >= retry.maxAttempts || signal?.aborted) {
          throw new BundlePushError(
            `OpenCTI did not accept a bundle after ${attempt + 1} attempts`,
            {
              cause: error,
            },
          );
        }
        const delayMs = backoffDelay(attempt, retry);
        logger.warn('stixBundlePush failed; retrying the bundle', {
          attempt: attempt + 1,
          delay_ms: delayMs,
          error: serializeError(error),
        });
        await sleep(delayMs, signal);
      }
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
