import { describe, expect, it, jest } from '@jest/globals';
import { ApiSink, BundlePushError } from '../../src/sinks/api-sink';
import type { OpenCtiApi } from '../../src/opencti/api';
import type { RetryPolicy } from '../../src/retry';
import type { Bundle } from '../../src/stix/types';
import { captureLogs } from '../support/capture';

const bundle: Bundle = {
  type: 'bundle',
  id: 'bundle--6f1e0f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
  spec_version: '2.1',
  objects: [
    {
      type: 'identity',
      spec_version: '2.1',
      id: 'identity--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      created: '2026-01-01T00:00:00.000Z',
      modified: '2026-01-01T00:00:00.000Z',
      name: 'Anomali ThreatStream',
      identity_class: 'organization',
    },
  ],
};

const FAST: RetryPolicy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 };

function sink(push: OpenCtiApi['stixBundlePush'], retry: RetryPolicy = FAST) {
  const logs = captureLogs();
  const api = { stixBundlePush: jest.fn(push) };
  return { api, logs, sink: new ApiSink({ api, connectorId: 'c-1', logger: logs.logger, retry }) };
}

describe('ApiSink', () => {
  it('pushes the whole bundle once as one message, with its work', async () => {
    const { api, sink: s } = sink(() => Promise.resolve());
    const prepared = await s.prepare(bundle, 'work_1');
    expect(prepared.messages).toBe(1);
    await prepared.deliver();
    expect(api.stixBundlePush.mock.calls).toEqual([['c-1', JSON.stringify(bundle), 'work_1']]);
  });

  it('retries a failed push, logging each retry, until OpenCTI accepts it', async () => {
    const failures = [new Error('502 Bad Gateway'), new Error('socket hang up')];
    const {
      api,
      logs,
      sink: s,
    } = sink(() => {
      const failure = failures.shift();
      return failure ? Promise.reject(failure) : Promise.resolve();
    });
    await (await s.prepare(bundle, null)).deliver();
    expect(api.stixBundlePush).toHaveBeenCalledTimes(3);
    const retries = logs.entries().filter((e) => e.level === 'warn');
    expect(retries).toEqual([
      expect.objectContaining({
        message: 'stixBundlePush failed; retrying the bundle',
        attempt: 1,
        delay_ms: 1,
        error: expect.objectContaining({ message: '502 Bad Gateway' }),
      }),
      expect.objectContaining({
        attempt: 2,
        error: expect.objectContaining({ message: 'socket hang up' }),
      }),
    ]);
  });

  it("gives up after the policy's attempts with the last failure as the cause", async () => {
    let calls = 0;
    const { api, sink: s } = sink(() => Promise.reject(new Error(`failure ${++calls}`)));
    const error = await (await s.prepare(bundle, null)).deliver().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundlePushError);
    expect((error as Error).message).toBe('OpenCTI did not accept a bundle after 3 attempts');
    expect((error as Error).cause).toEqual(new Error('failure 3'));
    expect(api.stixBundlePush).toHaveBeenCalledTimes(3);
  });

  it('stops retrying as soon as it is aborted', async () => {
    const controller = new AbortController();
    const stop = new Error('stop');
    const { api, sink: s } = sink(
      () => {
        // Aborted while the sink waits a minute before the next attempt.
        setImmediate(() => controller.abort(stop));
        return Promise.reject(new Error('503 Service Unavailable'));
      },
      { attempts: 10, baseDelayMs: 60_000, maxDelayMs: 60_000 },
    );
    const prepared = await s.prepare(bundle, null);
    const error = await prepared.deliver(controller.signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundlePushError);
    expect((error as Error).message).toMatch(/after 1 attempts/);
    expect((error as Error).cause).toBe(stop);
    expect(api.stixBundlePush).toHaveBeenCalledTimes(1);
  });
});
