import { describe, expect, it } from '@jest/globals';
import { QueueGate } from '../../src/connector/queue-gate';
import { captureLogs } from '../support/capture';

/** An OpenCTI whose queue-size answers are scripted, one per call (the last one repeats). */
function platform(answers: (number | Error)[]) {
  let calls = 0;
  return {
    calls: () => calls,
    api: {
      queueDetails: () => {
        const answer = answers[Math.min(calls++, answers.length - 1)]!;
        return answer instanceof Error
          ? Promise.reject(answer)
          : Promise.resolve({ messagesNumber: 1, messagesSize: answer });
      },
    },
  };
}

function gate(p: ReturnType<typeof platform>, clock = { now: 0 }) {
  const logs = captureLogs();
  const reports: [number, boolean][] = [];
  const g = new QueueGate({
    api: p.api,
    connectorId: 'c',
    thresholdMb: 500,
    checkIntervalMs: 10,
    logger: logs.logger,
    report: (sizeMb, buffering) => reports.push([sizeMb, buffering]),
    freshForMs: 2000,
    now: () => clock.now,
  });
  return { g, logs, reports, clock };
}

describe('QueueGate', () => {
  it('lets the import go when the queue is below the threshold (decimal MB)', async () => {
    const p = platform([499_999_999]);
    const { g, reports } = gate(p);
    await g.waitForRoom();
    expect(reports).toEqual([[499.999999, false]]);
  });

  it('holds the import at or above the threshold until the queue drains', async () => {
    const p = platform([500_000_000, 700_000_000, 100_000_000]);
    const { g, reports, logs } = gate(p);
    await g.waitForRoom();
    expect(p.calls()).toBe(3);
    expect(reports).toEqual([
      [500, true],
      [700, true],
      [100, false],
    ]);
    expect(logs.entries().map((e) => e.message)).toEqual([
      'Connector queue is at or above the threshold; pausing the import',
      'Connector queue is below the threshold again; resuming',
    ]);
  });

  it('trusts a reading below the threshold for a short while, then asks again', async () => {
    const p = platform([0]);
    const { g, clock } = gate(p);
    await g.waitForRoom();
    clock.now = 1999;
    await g.waitForRoom();
    expect(p.calls()).toBe(1);
    clock.now = 2000;
    await g.waitForRoom();
    expect(p.calls()).toBe(2);
  });

  it('never trusts a reading over the threshold', async () => {
    const p = platform([600_000_000, 0, 600_000_000, 0]);
    const { g, clock } = gate(p);
    await g.waitForRoom();
    clock.now = 5000;
    await g.waitForRoom();
    expect(p.calls()).toBe(4);
  });

  it('imports without back-pressure when OpenCTI will not tell, warning once', async () => {
    const denied = Object.assign(new Error('FORBIDDEN_ACCESS'), { name: 'OpenCtiGraphQLError' });
    const p = platform([denied]);
    const { g, logs, reports, clock } = gate(p);
    await g.waitForRoom();
    clock.now = 10_000;
    await g.waitForRoom();
    expect(reports).toEqual([
      [0, false],
      [0, false],
    ]);
    const warnings = logs.entries().filter((e) => e.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toBe(
      'Cannot read the connector queue size from OpenCTI; importing without back-pressure',
    );
  });

  it('stops waiting as soon as it is aborted', async () => {
    const p = platform([900_000_000]);
    const logs = captureLogs();
    const g = new QueueGate({
      api: p.api,
      connectorId: 'c',
      thresholdMb: 500,
      checkIntervalMs: 60_000,
      logger: logs.logger,
      report: () => undefined,
      freshForMs: 2000,
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await expect(g.waitForRoom(controller.signal)).rejects.toThrow('stop');
  });
});
