import { serializeError, type Logger } from '../log';
import type { OpenCtiApi } from '../opencti/api';
import { splitBundle, workerMessageBody } from '../opencti/messages';
import type { AmqpPublisher } from '../opencti/publisher';
import type { Bundle, StixObject } from '../stix/types';
import type { BundleSink, PreparedBundle } from './sink';

export interface AmqpSinkOptions {
  publisher: Pick<AmqpPublisher, 'publishBatch' | 'close'>;
  api: Pick<OpenCtiApi, 'workAddExpectations'>;
  /** The connector's user from registration: the worker imports on its behalf. */
  applicantId: string | null;
  /** Below the broker's `max_message_size`; a larger message would make it refuse the batch. */
  maxMessageBytes: number;
  logger: Logger;
}

/** Sends a bundle the way pycti does: expectations first, then one confirmed message per object. */
export class AmqpSink implements BundleSink {
  constructor(private readonly options: AmqpSinkOptions) {}

  async prepare(bundle: Bundle, workId: string | null): Promise<PreparedBundle> {
    const { publisher, api, logger } = this.options;
    // Made here, while the bundle before is being confirmed, so that publishing is only handing over.
    const { bodies, tooLarge } = this.encode(bundle, workId);
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
      tooLarge,
      deliver: (signal) => publisher.publishBatch(bodies, signal),
    };
  }

  /** The bundle's message bodies, in publishing order, without those too large to send. */
  private encode(bundle: Bundle, workId: string | null) {
    const context = { applicantId: this.options.applicantId, workId };
    const bodies: Buffer[] = [];
    const tooLarge: StixObject[] = [];
    for (const split of splitBundle(bundle)) {
      const body = workerMessageBody(split, bodies.length + 1, context);
      if (body.length <= this.options.maxMessageBytes) bodies.push(body);
      else tooLarge.push(split.objects[0]);
    }
    return { bodies, tooLarge };
  }

  close(): Promise<void> {
    return this.options.publisher.close();
  }
}
