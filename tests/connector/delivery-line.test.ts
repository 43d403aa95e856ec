import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from '@jest/globals';
import { DeliveryLine } from '../../src/connector/delivery-line';

/** A delivery that stays in flight until `accept()` is called. */
function pendingDelivery() {
  let accept!: () => void;
  const accepted = new Promise<void>((resolve) => (accept = resolve));
  return { accept, deliver: () => accepted };
}

describe('DeliveryLine', () => {
  it('returns from send while the delivery is in flight, once the I/O it queued has gone out', async () => {
    const line = new DeliveryLine();
    const { accept, deliver } = pendingDelivery();
    let written = false;
    // How a piped stream writes: the 'readable' event on a later tick schedules the write.
    await line.send(() => {
      process.nextTick(() => setImmediate(() => (written = true)));
      return deliver();
    });
    expect(written).toBe(true);
    accept();
    await line.drain();
  });

  it('starts the next delivery only once the one in flight is accepted', async () => {
    const line = new DeliveryLine();
    const first = pendingDelivery();
    await line.send(first.deliver);
    let secondStarted = false;
    const second = line.send(() => {
      secondStarted = true;
      return Promise.resolve();
    });
    // Turns of the event loop, in which a line that did not wait would start the second.
    for (let turn = 0; turn < 10; turn++) await nextTurn();
    expect(secondStarted).toBe(false);
    first.accept();
    await second;
    expect(secondStarted).toBe(true);
    await line.drain();
  });
});
