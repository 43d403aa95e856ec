/**
 * The import buffers for either of two reasons: the connector's queue in OpenCTI is at or above
 * the threshold (read between batches), or RabbitMQ refuses publishes because the push queue is
 * full (seen mid-batch). The two are reported at different times, so each is kept, and buffering
 * lasts while either holds.
 */
export class BufferingCauses {
  private overThreshold = false;
  private queueFull = false;

  /** Returns whether the import buffers now. */
  threshold(reached: boolean): boolean {
    this.overThreshold = reached;
    return this.buffering;
  }

  /** Returns whether the import buffers now. */
  brokerRefusing(refusing: boolean): boolean {
    this.queueFull = refusing;
    return this.buffering;
  }

  get buffering(): boolean {
    return this.overThreshold || this.queueFull;
  }
}
