import { backoffDelay, sleep, type RetryPolicy } from '../backoff';
import { serializeError, type Logger } from '../log';
import type { OpenCtiApi } from '../opencti/api';
import type { Bundle } from '../stix/types';
import type { BundleSink, PreparedBundle } from './sink';

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

  prepare(bundle: Bundle, workId: string | null): Promise<PreparedBundle> {
    const body = JSON.stringify(bundle);
    return Promise.resolve({ messages: 1, deliver: (signal) => this.push(body, workId, signal) });
  }

  private async push(body: string, workId: string | null, signal?: AbortSignal): Promise<void> {
    const { api, connectorId, logger, retry } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        await api.stixBundlePush(connectorId, body, workId);
        return;
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
