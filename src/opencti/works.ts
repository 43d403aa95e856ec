import { serializeError, type Logger } from '../log';
import type { OpenCtiApi } from './api';

/**
 * The OpenCTI "work" of a run, as shown in the UI. Work calls are bookkeeping: when one fails
 * it is logged and the import goes on, since the indicators matter more than the progress bar.
 */
export class Works {
  constructor(
    private readonly api: Pick<OpenCtiApi, 'workAdd' | 'workToProcessed'>,
    private readonly connectorId: string,
    private readonly logger: Logger,
  ) {}

  async start(friendlyName: string): Promise<string | null> {
    try {
      return await this.api.workAdd(this.connectorId, friendlyName);
    } catch (error) {
      this.logger.warn('Could not create the OpenCTI work; importing without one', {
        error: serializeError(error),
      });
      return null;
    }
  }

  async finish(workId: string | null, message: string, inError: boolean): Promise<void> {
    if (workId === null) return;
    try {
      await this.api.workToProcessed(workId, message, inError);
    } catch (error) {
      this.logger.warn('Could not close the OpenCTI work', {
        work_id: workId,
        error: serializeError(error),
      });
    }
  }
}
