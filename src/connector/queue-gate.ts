import { sleep } from '../retry';
import { serializeError, type Logger } from '../log';
import type { OpenCtiApi } from '../opencti/api';

export interface QueueGateOptions {
  api: Pick<OpenCtiApi, 'queueDetails'>;
  connectorId: string;
  thresholdMb: number;
  checkIntervalMs: number;
  logger: Logger;
  /** Told the queue size and whether we are holding back, for the ping and the metrics. */
  report: (sizeMb: number, buffering: boolean) => void;
  /**
   * How long a reading below the threshold is trusted: a fast import would otherwise ask
   * OpenCTI (and OpenCTI its RabbitMQ management API) before every single batch.
   */
  freshForMs: number;
  now?: () => number;
}

/**
 * Holds the import back while the connector's queue in OpenCTI is at or above the threshold,
 * so a large feed never floods the platform. Checked before a run and between batches.
 */
export class QueueGate {
  private warnedUnavailable = false;
  private roomSeenAt: number | undefined;

  constructor(private readonly options: QueueGateOptions) {}

  /** Resolves once the queue is below the threshold (or its size cannot be known). */
  async waitForRoom(signal?: AbortSignal): Promise<void> {
    const { logger, thresholdMb, checkIntervalMs, report, freshForMs } = this.options;
    const now = this.options.now ?? Date.now;
    if (this.roomSeenAt !== undefined && now() - this.roomSeenAt < freshForMs) return;
    for (let waiting = false; ; waiting = true) {
      const sizeMb = await this.queueSizeMb();
      if (sizeMb === undefined || sizeMb < thresholdMb) {
        if (waiting)
          logger.info('Connector queue is below the threshold again; resuming', {
            size_mb: sizeMb,
          });
        report(sizeMb ?? 0, false);
        this.roomSeenAt = now();
        return;
      }
      report(sizeMb, true);
      if (!waiting) {
        logger.info('Connector queue is at or above the threshold; pausing the import', {
          size_mb: sizeMb,
          threshold_mb: thresholdMb,
          recheck_in_s: checkIntervalMs / 1000,
        });
      }
      await sleep(checkIntervalMs, signal);
    }
  }

  /** The queue size in decimal MB, or undefined when OpenCTI will not tell (then we do not buffer). */
  private async queueSizeMb(): Promise<number | undefined> {
    const { api, connectorId, logger } = this.options;
    try {
      const { messagesSize } = await api.queueDetails(connectorId);
      this.warnedUnavailable = false;
      return messagesSize / 1_000_000;
    } catch (error) {
      if (!this.warnedUnavailable) {
        logger.warn(
          'Cannot read the connector queue size from OpenCTI; importing without back-pressure',
          {
            error: serializeError(error),
          },
        );
        this.warnedUnavailable = true;
      }
      return undefined;
    }
  }
}
