/**
 * Resolves once I/O queued so far has had its turn, even I/O deferred twice the way a stream
 * pipe defers it: amqplib writes to the socket from a setImmediate scheduled on the stream's
 * 'readable' event, itself emitted on a later tick. A setImmediate scheduled from a tick queued
 * after that one runs after those writes.
 */
export const afterQueuedIo = (): Promise<void> =>
  new Promise((resolve) => process.nextTick(() => setImmediate(resolve)));
