import { serializeError, type Logger } from '../log';
import type { OpenCtiApi } from '../opencti/api';
import { workerMessageBodies } from '../opencti/messages';
import type { AmqpPublisher } from '../opencti/publisher';
import type { Bundle } from '../stix/types';
import type { BundleSink, PreparedBundle } from './sink';

export interface AmqpSinkOptions {
  publisher: Pick<AmqpPublisher, 'publishBatch' | 'close'>;
  api: Pick<OpenCtiApi, 'workAddExpectations'>;
  /** The connector's user from registration: the worker imports on its behalf. */
  applicantId: string | null;
  logger: Logger;
}

/** Sends a bundle the way pycti does: expectations first, then one confirmed message per object. */
export class AmqpSink implements BundleSink {
  constructor(private readonly options: AmqpSinkOptions) {}

  async prepare(bundle: Bundle, workId: string | null): Promise<PreparedBundle> {
    const { publisher, api, applicantId, logger } = this.options;
    // Made here, while the bundle before is being confirmed, so that publishing is only handing over.
    const bodies = workerMessageBodies(bundle, { applicantId, workId });
    if (workId !== null) {
      // Before publishing: a work whose expectations lag its processed count completes too early.
      await api.workAddExpectations(workId, bodies.length).catch((error: unknown) => {
        logger.warn('Could not add expectations to the OpenCTI work; publishing anyway', {
          work_id: workId,
          error: serializeError(error),
        });
      });
    }
    return {
      messages: bodies.length,
      deliver: (signal) => publisher.publishBatch(bodies, signal),
    };
  }

  close(): Promise<void> {
    return this.options.publisher.close();
  }
}
