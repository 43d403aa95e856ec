import { serializeError, type Logger } from '../log';
import type { OpenCtiApi } from '../opencti/api';
import { RetriesExhaustedError, withRetry, type RetryPolicy } from '../retry';
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
    // Counted here too: an abort ends the retries without a RetriesExhaustedError.
    let attempts = 0;
    try {
      await withRetry(
        retry,
        (attempt) => {
          attempts = attempt;
          return api.stixBundlePush(connectorId, body, workId);
        },
        {
          signal,
          onRetry: (error, attempt, delayMs) => {
            logger.warn('stixBundlePush failed; retrying the bundle', {
              attempt,
              delay_ms: delayMs,
              error: serializeError(error),
            });
          },
        },
      );
    } catch (error) {
      throw new BundlePushError(`OpenCTI did not accept a bundle after ${attempts} attempts`, {
        cause: error instanceof RetriesExhaustedError ? error.cause : error,
      });
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
