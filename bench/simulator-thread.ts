/**
 * The ThreatStream simulator on its own thread. Rendering a page of a thousand records blocks an
 * event loop for milliseconds; sharing one with the OpenCTI stand-in would delay the daemon's
 * pings and expectation calls behind page rendering, which no real deployment does.
 */

import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startSimulator, type SimulatorOptions } from '../stand-ins/threatstream/simulator';

/** The simulator's options but the fault hook, which cannot cross to the thread. */
export type SimulatorThreadOptions = Omit<SimulatorOptions, 'fault'>;

export interface RequestLog {
  /** Every request so far. */
  count: number;
  /** Date.now() of every request, in arrival order. */
  times: number[];
}

type ToThread = { kind: 'log' } | { kind: 'close' };
type FromThread = { kind: 'ready'; url: string } | ({ kind: 'log' } & RequestLog);

export class SimulatorThread {
  private constructor(
    private readonly worker: Worker,
    readonly url: string,
  ) {}

  static async start(options: SimulatorThreadOptions): Promise<SimulatorThread> {
    const worker = new Worker(path.join(__dirname, 'simulator-thread.js'), {
      workerData: options,
    });
    const url = await new Promise<string>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (message: FromThread) => {
        if (message.kind === 'ready') resolve(message.url);
      });
    });
    return new SimulatorThread(worker, url);
  }

  async requests(): Promise<RequestLog> {
    const answer = new Promise<RequestLog>((resolve) => {
      this.worker.once('message', (message: FromThread) => {
        if (message.kind === 'log') resolve({ count: message.count, times: message.times });
      });
    });
    this.worker.postMessage({ kind: 'log' } satisfies ToThread);
    return answer;
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ kind: 'close' } satisfies ToThread);
    await exited;
  }
}

async function serve(options: SimulatorThreadOptions, port: NonNullable<typeof parentPort>) {
  const times: number[] = [];
  const simulatorOptions: SimulatorOptions = {
    ...options,
    // Never alters an answer: only notes when each request arrived.
    fault: () => {
      times.push(Date.now());
      return undefined;
    },
  };
  const simulator = await startSimulator(simulatorOptions);
  port.on('message', (message: ToThread) => {
    if (message.kind === 'log') {
      const log: FromThread = { kind: 'log', count: simulator.requests.count, times };
      port.postMessage(log);
    } else {
      void simulator.close().then(() => port.close());
    }
  });
  port.postMessage({ kind: 'ready', url: simulator.url } satisfies FromThread);
}

if (!isMainThread && parentPort !== null) {
  void serve(workerData as SimulatorThreadOptions, parentPort);
}
