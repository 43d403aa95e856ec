import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from '@jest/globals';
import type { BrokerSettings } from '../../src/opencti/publisher';

/**
 * A RabbitMQ node of a test's own, beside the shared broker on 5672, so that the test may stop
 * and start it without disturbing anyone else. Everything it writes (database, logs, pid file)
 * stays in a temporary directory; it listens on loopback only and runs no plugins.
 *
 * The CLI tools reach a node with the Erlang cookie of the user they run as. Debian's wrappers run
 * both the server and the tools as the `rabbitmq` user, other installs as the caller: either way
 * the node and the tools read the same cookie, so none is set here.
 */

const run = promisify(execFile);

/**
 * Ports are picked below Linux's ephemeral range (32768-60999): there, the kernel may hand the
 * port to an outgoing connection, or a CLI tool may listen on it (35672-35682), while the node
 * is stopped, and the node then fails to start again.
 */
const PORTS = { from: 20_000, to: 32_000 };

/** Every command is given this many seconds; the node needs several to boot on a busy machine. */
const CLI_TIMEOUT_S = '120';

export class RabbitMqNodeError extends Error {
  override name = 'RabbitMqNodeError';
}

export interface RabbitMqNode {
  readonly name: string;
  readonly broker: BrokerSettings;
  /** What clients see of a broker going down: connections closed, then refused. */
  stopApp(): Promise<void>;
  /** Resolves once the broker accepts connections again. */
  startApp(): Promise<void>;
  /** Stops the node and deletes its files, whatever state it is in. */
  remove(): Promise<void>;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Two consecutive free ports, from a start that differs between test processes. */
async function freePortPair(): Promise<number> {
  const span = PORTS.to - PORTS.from;
  for (let step = 0; step < span; step += 2) {
    const port = PORTS.from + ((process.pid * 2 + step) % span);
    if ((await isFree(port)) && (await isFree(port + 1))) return port;
  }
  throw new RabbitMqNodeError(`no two free ports in ${PORTS.from}-${PORTS.to}`);
}

function rabbitmqctl(node: string, ...args: string[]): Promise<unknown> {
  return run('rabbitmqctl', ['-q', '-n', node, ...args]);
}

/** Ends the node's process when the node cannot be asked to (it never finished booting). */
async function killByPidFile(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export interface RabbitMqNodeOptions {
  /** The node's `max_message_size`: a larger message closes the publishing channel (406). */
  maxMessageBytes?: number;
}

/**
 * A node for the calling test file alone: started before its tests, removed after them. Returns
 * the node, or undefined while it is not started.
 */
export function ownRabbitMqNode(options: RabbitMqNodeOptions = {}): () => RabbitMqNode | undefined {
  let node: RabbitMqNode | undefined;
  beforeAll(async () => {
    node = await startRabbitMqNode(options);
  }, 180_000);
  afterAll(async () => {
    await node?.remove();
  }, 180_000);
  return () => node;
}

/** Boots a node and resolves once it accepts AMQP connections. */
export async function startRabbitMqNode(options: RabbitMqNodeOptions = {}): Promise<RabbitMqNode> {
  const port = await freePortPair();
  const name = `threatstream-test-${process.pid}-${randomUUID().slice(0, 8)}@localhost`;
  const directory = await mkdtemp(path.join(tmpdir(), 'rabbitmq-node-'));
  // The server may run as another user than this process (see above): it must write here.
  await chmod(directory, 0o777);
  const file = (entry: string) => path.join(directory, entry);
  const limit = options.maxMessageBytes;
  const conf = [
    `listeners.tcp.1 = 127.0.0.1:${port}`,
    ...(limit === undefined ? [] : [`max_message_size = ${limit}`]),
  ];
  await writeFile(file('rabbitmq.conf'), `${conf.join('\n')}\n`);
  await writeFile(file('enabled_plugins'), '[].\n');
  const node: RabbitMqNode = {
    name,
    broker: { hostname: '127.0.0.1', port, username: 'guest', password: 'guest', vhost: '/' },
    stopApp: async () => {
      await rabbitmqctl(name, 'stop_app');
    },
    startApp: async () => {
      await rabbitmqctl(name, 'start_app');
    },
    remove: async () => {
      await rabbitmqctl(name, 'shutdown', '--timeout', CLI_TIMEOUT_S).catch(() =>
        killByPidFile(file('pid')),
      );
      await rm(directory, { recursive: true, force: true });
    },
  };
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: name,
    RABBITMQ_DIST_PORT: String(port + 1),
    RABBITMQ_CONFIG_FILE: file('rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: file('enabled_plugins'),
    RABBITMQ_MNESIA_BASE: file('mnesia'),
    RABBITMQ_LOG_BASE: file('log'),
    RABBITMQ_PID_FILE: file('pid'),
  };
  try {
    await run('rabbitmq-server', ['-detached'], { env });
    await rabbitmqctl(name, 'wait', file('pid'), '--timeout', CLI_TIMEOUT_S);
  } catch (error) {
    await node.remove();
    throw new RabbitMqNodeError(`RabbitMQ node ${name} did not start`, { cause: error });
  }
  return node;
}
