import { serializeError, type Logger } from '../log';
import type { ConnectorInfo, OpenCtiApi } from './api';
import {
  copyState,
  emptyState,
  hasCursors,
  isEmptyRemoteState,
  serializeState,
  summarizeRemoteState,
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
  /** Once the connector stops, states are no longer sent one by one: `close()` sends the last. */
  stop?: AbortSignal;
}

/** The ping that starts once the one in flight is answered; every save meanwhile rides on it. */
interface FollowUp {
  answered: Promise<void>;
  start(): void;
}

/**
 * Pings OpenCTI on a fixed cadence and right after every state change: a ping is the only way
 * OpenCTI stores a connector's state. It also notices a reset made in the OpenCTI UI.
 *
 * At most one ping is in flight, so a slow OpenCTI costs its own latency and nothing piles up:
 * a tick of the cadence is skipped while a ping is pending, and the changes made while one is in
 * flight go together in the next one, which carries the newest state.
 */
export class Heartbeat implements StateStore {
  readonly info: ConnectorInfo;
  private state: ConnectorState;
  private generation = 0;
  private remoteHasState: boolean;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private followUp: FollowUp | undefined;
  private closed = false;
  private closing: Promise<boolean> | undefined;
  /** The last state OpenCTI answered a ping for. */
  private acknowledged: string | undefined;
  /** Whether the last ping reached OpenCTI (for the health endpoint). */
  lastPingOk: boolean | undefined;

  constructor(private readonly options: HeartbeatOptions) {
    this.state = options.initialState;
    this.remoteHasState = options.remoteHasState;
    this.info = options.info;
  }

  start(): void {
    void this.ping();
    this.timer = setInterval(() => {
      if (this.inFlight === undefined) void this.ping();
    }, this.options.intervalMs);
  }

  /**
   * Stops the cadence and sends the state one last time, as pycti's force_ping. Resolves with
   * whether OpenCTI holds it; later calls give the same answer without sending again, so the run
   * and the exit code agree.
   */
  close(): Promise<boolean> {
    this.closing ??= this.sendLast();
    return this.closing;
  }

  private async sendLast(): Promise<boolean> {
    clearInterval(this.timer);
    this.timer = undefined;
    // The pings in flight and due carry states that saves wait on; the last one goes after them.
    while (this.inFlight !== undefined) await (this.followUp?.answered ?? this.inFlight);
    this.closed = true;
    const sent = serializeState(this.state);
    try {
      await this.exchange(sent);
    } catch (error) {
      this.options.logger.warn(
        'Could not send the last state to OpenCTI; the next start resumes from the state it stored before',
        { state: sent, error: serializeError(error) },
      );
    }
    return this.acknowledged === sent;
  }

  load(): { state: ConnectorState; generation: number } {
    return { state: copyState(this.state), generation: this.generation };
  }

  /** Resolves once a ping carrying this state, or a newer one, is answered (or failed). */
  async save(state: ConnectorState, generation: number): Promise<boolean> {
    if (generation !== this.generation) return false;
    this.state = copyState(state);
    await this.ping();
    return generation === this.generation;
  }

  /**
   * Pings with the current state, now or, while a ping is in flight, right after it. Does
   * nothing once the connector stops or the heartbeat is closed.
   */
  ping(): Promise<void> {
    if (this.done()) return Promise.resolve();
    if (this.inFlight === undefined) return this.launch();
    this.followUp ??= this.newFollowUp();
    return this.followUp.answered;
  }

  private newFollowUp(): FollowUp {
    let start = () => {};
    const answered = new Promise<void>((resolve) => {
      start = () => resolve(this.done() ? undefined : this.launch());
    });
    return { answered, start };
  }

  private done(): boolean {
    return this.closed || this.options.stop?.aborted === true;
  }

  /** Starts a ping; once it is answered, the follow-up (if any) starts in the same step. */
  private launch(): Promise<void> {
    const ping = this.pingOnce().then(() => {
      this.inFlight = undefined;
      const next = this.followUp;
      this.followUp = undefined;
      next?.start();
    });
    this.inFlight = ping;
    return ping;
  }

  private async pingOnce(): Promise<void> {
    try {
      await this.exchange(serializeState(this.state));
    } catch (error) {
      this.options.logger.warn('OpenCTI ping failed; the state will be sent with the next ping', {
        error: serializeError(error),
      });
    }
  }

  /** One ping carrying `sent`; throws when OpenCTI could not be reached. */
  private async exchange(sent: string): Promise<void> {
    const { api, connectorId, logger, onPing } = this.options;
    let answer;
    try {
      answer = await api.pingConnector(connectorId, sent, { ...this.info });
    } catch (error) {
      this.lastPingOk = false;
      onPing?.(false);
      throw error;
    }
    this.lastPingOk = true;
    this.acknowledged = sent;
    onPing?.(true);
    logger.debug('Pinged OpenCTI', { state: sent });
    this.reconcile(sent, answer.connectorState);
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
      if (remote !== sent) {
        logger.debug('OpenCTI answered an older state; keeping ours', {
          sent,
          remote: summarizeRemoteState(remote),
        });
      }
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
