import { afterQueuedIo } from '../io';

/**
 * Delivers bundles strictly one after another: a bundle is sent only once the one before it is
 * accepted, so at most one batch is ever waiting for its confirms. What the caller does between
 * two sends (converting, checking the queue, adding expectations, saving a cursor) overlaps the
 * wait for those confirms instead of adding to it.
 */
export class DeliveryLine {
  private inFlight: Promise<void> = Promise.resolve();
  private completions: Promise<void> = Promise.resolve();

  /**
   * Waits until the delivery in flight is accepted (rethrowing its failure), then starts this one
   * without waiting for it to be accepted, but only once the I/O it queued has gone out: the
   * caller's next step may be CPU-heavy (converting a page), and the broker would sit idle,
   * waiting for the batch, until it is done.
   */
  async send(deliver: () => Promise<void>): Promise<void> {
    await this.inFlight;
    this.inFlight = deliver();
    this.inFlight.catch(() => undefined); // rethrown by the next send or by drain()
    await afterQueuedIo();
  }

  /**
   * Runs `task` once every delivery sent so far is accepted, after the tasks queued before it.
   * Never runs it if one of those deliveries failed.
   */
  afterDelivered(task: () => Promise<void>): void {
    const delivered = this.inFlight;
    this.completions = Promise.all([this.completions, delivered]).then(task);
    this.completions.catch(() => undefined); // rethrown by drain()
  }

  /** Resolves once every delivery and task is done; rejects with the first failure. */
  async drain(): Promise<void> {
    await this.inFlight;
    await this.completions;
  }
}
