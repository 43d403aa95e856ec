import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Message } from 'amqplib';
import type { WorkerMessage, SplitBundle } from '../../src/opencti/messages';
import type { BrokerSettings } from '../../src/opencti/publisher';
import { BROKER, drainRaw } from '../../stand-ins/rabbitmq/broker';

export { drainRaw };

export interface ReceivedMessage {
  raw: Message;
  message: WorkerMessage;
  bundle: SplitBundle;
}

/** Reads a message body as the OpenCTI worker would: JSON envelope, base64 bundle. */
export function decodeWorkerMessage(body: Buffer): { message: WorkerMessage; bundle: SplitBundle } {
  const message = JSON.parse(body.toString('utf8')) as WorkerMessage;
  const bundle = JSON.parse(Buffer.from(message.content, 'base64').toString('utf8')) as SplitBundle;
  return { message, bundle };
}

/** Reads every message in a queue as the OpenCTI worker would. */
export async function drainQueue(
  queue: string,
  broker: BrokerSettings = BROKER,
): Promise<ReceivedMessage[]> {
  return (await drainRaw(queue, broker)).map((raw) => ({
    raw,
    ...decodeWorkerMessage(raw.content),
  }));
}

/**
 * The broker is shared (CI, other test runs on the same machine): a cut must only hit the
 * connections of the process under test, never everyone's, as `close_all_connections` would.
 * The broker names a connection by its peer port, which is the local port of one of the
 * process's sockets to the broker port.
 */
function brokerPortsOf(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // closed while we looked
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, remote, , , , , , , inode] = line.trim().split(/\s+/);
      if (!local || !remote || !inode || !inodes.has(inode)) continue;
      if (parseInt(remote.split(':')[1] ?? '', 16) !== BROKER.port) continue;
      ports.add(parseInt(local.split(':')[1] ?? '', 16));
    }
  }
  return ports;
}

/**
 * Drops the process's broker connections, as a broker restart or a network cut would, and
 * returns how many. Blocks until done, so a cut requested mid-batch lands mid-batch.
 */
export function closeBrokerConnectionsOf(pid: number = process.pid): number {
  const ports = brokerPortsOf(pid);
  if (ports.size === 0) return 0;
  const listing = execFileSync('rabbitmqctl', ['-s', 'list_connections', 'pid', 'peer_port'], {
    encoding: 'utf8',
  });
  const connections = listing
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([id, port]) => id?.startsWith('<') && ports.has(Number(port)))
    .map(([id]) => id!);
  for (const id of connections) {
    execFileSync('rabbitmqctl', ['close_connection', id, 'test: simulated broker failure'], {
      stdio: 'ignore',
    });
  }
  return connections.length;
}
