import { describe, expect, it } from '@jest/globals';
import { withRetry } from '../src/retry';

describe('withRetry', () => {
  it('retries the failures retryIf accepts and ends at once on one it refuses', async () => {
    const failures = [new Error('queue full'), new Error('queue full'), new Error('lost')];
    const pauses: number[] = [];
    let calls = 0;
    const error = await withRetry(
      { attempts: Infinity, baseDelayMs: 4, maxDelayMs: 4 },
      () => Promise.reject(failures[calls++] as Error),
      {
        retryIf: (e) => (e as Error).message === 'queue full',
        sleep: (ms) => {
          pauses.push(ms);
          return Promise.resolve();
        },
        random: () => 0,
      },
    ).catch((e: unknown) => e);
    expect(error).toBe(failures[2]);
    expect(calls).toBe(3);
    expect(pauses).toEqual([2, 2]);
  });
});
