import { serializeError, type Logger } from '../log';
import type { ConnectorInfo, OpenCtiApi } from './api';
import {
  copyState,
  emptyState,
  hasCursors,
  isEmptyRemoteState,
  serializeState,
  type ConnectorState,
  type StateStore,
} from './state';

export interface HeartbeatOptions {
  api: Pick<OpenCtiApi, 'pingConnector'>;
  connectorId: string;
  logger: Logger;
  intervalMs: number;
  /** The state registration returned. */
  initialState: ConnectorState;
  /** Whether OpenCTI already holds a non-empty state (registration returned one). */
  remoteHasState: boolean;
  info: ConnectorInfo;
  onPing?: (ok: boolean) => void;
}

/**
 * Pings OpenCTI on a fixed cadence and right after every state change: a ping is the only way
 * OpenCTI stores a connector's state. It also notices a reset made in the OpenCTI UI.
 */
export class Heartbeat implements StateStore {
  readonly info: ConnectorInfo;
  private state: ConnectorState;
  private generation = 0;
  private remoteHasState: boolean;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Whether the last ping reached OpenCTI (for the health endpoint). */
  lastPingOk: boolean | undefined;

  constructor(private readonly options: HeartbeatOptions) {
    this.state = options.initialState;
    this.remoteHasState = options.remoteHasState;
    this.info = options.info;
  }

  start(): void {
    void this.ping();
    this.timer = setInterval(() => void this.ping(), this.options.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  load(): { state: ConnectorState; generation: number } {
    return { state: copyState(this.state), generation: this.generation };
  }

  async save(state: ConnectorState, generation: number): Promise<boolean> {
    if (generation !== this.generation) return false;
    this.state = copyState(state);
    await this.ping();
    return generation === this.generation;
  }

  /** Pings with the current state; pings never overlap, so each carries the latest state. */
  ping(): Promise<void> {
    this.queue = this.queue.then(() => this.pingOnce());
    return this.queue;
  }

  private async pingOnce(): Promise<void> {
    const { api, connectorId, logger, onPing } = this.options;
    const sent = serializeState(this.state);
    try {
      const { connectorState } = await api.pingConnector(connectorId, sent, { ...this.info });
      this.lastPingOk = true;
      onPing?.(true);
      logger.debug('Pinged OpenCTI', { state: sent });
      this.reconcile(sent, connectorState);
    } catch (error) {
      this.lastPingOk = false;
      onPing?.(false);
      logger.warn('OpenCTI ping failed; the state will be sent with the next ping', {
        error: serializeError(error),
      });
    }
  }

  /**
   * Only an empty answer while we hold cursors is a reset. Any other difference is an echo of
   * an older write (seen on platforms with search-index latency) and is not adopted. An empty
   * answer before OpenCTI ever acknowledged a non-empty state is such an echo too.
   */
  private reconcile(sent: string, remote: string | null): void {
    const { logger } = this.options;
    if (!isEmptyRemoteState(remote)) {
      this.remoteHasState = true;
      if (remote !== sent)
        logger.debug('OpenCTI answered an older state; keeping ours', { sent, remote });
      return;
    }
    if (!hasCursors(this.state) || !this.remoteHasState) return;
    this.state = emptyState();
    this.remoteHasState = false;
    this.generation++;
    logger.warn(
      'Connector state was reset in OpenCTI: every cursor is dropped and the next run starts over',
    );
  }
}
