import { describe, expect, it } from '@jest/globals';
import { RefreshingSink } from '../../src/sinks/refreshing-sink';
import type { BundleSink } from '../../src/sinks/sink';
import type { Bundle } from '../../src/stix/types';

const BUNDLE = {
  type: 'bundle',
  id: 'bundle--1',
  spec_version: '2.1',
  objects: [],
} as unknown as Bundle;

/** A sink named `name` whose deliveries fail while `failing()` says so. */
function namedSink(name: string, log: string[], failing: () => boolean = () => false): BundleSink {
  return {
    prepare: () =>
      Promise.resolve({
        messages: 1,
        deliver: () => {
          log.push(`deliver ${name}`);
          return failing() ? Promise.reject(new Error(`${name} unreachable`)) : Promise.resolve();
        },
      }),
    close: () => {
      log.push(`close ${name}`);
      return Promise.resolve();
    },
  };
}

describe('RefreshingSink', () => {
  it('keeps its sink while deliveries succeed', async () => {
    const log: string[] = [];
    let reopened = 0;
    const sink = new RefreshingSink(namedSink('first', log), () => {
      reopened++;
      return Promise.resolve(namedSink('other', log));
    });
    await (await sink.prepare(BUNDLE, null)).deliver();
    await (await sink.prepare(BUNDLE, null)).deliver();
    expect(log).toEqual(['deliver first', 'deliver first']);
    expect(reopened).toBe(0);
  });

  it('after a failed delivery, closes its sink and opens a new one (registering again) for the next bundle', async () => {
    const log: string[] = [];
    const sink = new RefreshingSink(
      namedSink('first', log, () => true),
      () => {
        log.push('register');
        return Promise.resolve(namedSink('renewed', log));
      },
    );
    await expect((await sink.prepare(BUNDLE, null)).deliver()).rejects.toThrow('first unreachable');
    await (await sink.prepare(BUNDLE, null)).deliver();
    await sink.close();
    expect(log).toEqual([
      'deliver first',
      'close first',
      'register',
      'deliver renewed',
      'close renewed',
    ]);
  });
});
