import { tickerEvery } from '../live/ticker.js';
import type { Destination } from '../../core/relays/destinations.js';
import type { RelayState, RelayStatus } from '../../core/kernel/events.js';
import type { LiveStream } from '../live/live-stream.js';
import type { PlaySubscription } from '../rtmp/connection.js';
import type { RtmpMessage } from '../wire/rtmp/messages.js';
import type { RelayTransport } from './transport.js';

export interface RelayOptions {
  /** Bytes a destination may fall behind before it is dropped and reconnected. */
  maxBacklogBytes: number;
  /** First retry delay; each failure doubles it up to maxRetryMs, with ±20 % jitter. */
  initialRetryMs: number;
  maxRetryMs: number;
  /** How often the byte counter is reported while live. */
  statsIntervalMs: number;
}

/**
 * The push of one live stream to one destination, kept alive while the stream is live: it
 * connects, forwards the live tags (codec headers first, then from a keyframe), and when the
 * destination refuses, drops or falls too far behind, retries with capped exponential backoff.
 * A failing destination never slows the ingest: the only thing it holds is its own bounded backlog.
 */
export class Relay {
  private state: RelayState = 'idle';
  private lastError: string | null = null;
  private since: string;
  private reconnects = 0;
  /** Failed attempts since the last connection that went live: what the backoff grows with. */
  private attempts = 0;
  private triedBefore = false;
  private bytesBefore = 0;
  private transport: RelayTransport | undefined;
  /** The attempt in progress, aborted by stop() so a stuck handshake does not outlive the relay. */
  private connecting: RelayTransport | undefined;
  private subscription: PlaySubscription | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopStats: (() => void) | undefined;
  private stopped = false;

  constructor(
    readonly destination: Destination,
    private readonly live: LiveStream,
    private readonly makeTransport: () => RelayTransport,
    private readonly report: (status: RelayStatus) => void,
    private readonly options: RelayOptions,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {
    this.since = now();
  }

  start(): void {
    void this.connect();
  }

  /** Stops for good: unsubscribes, unpublishes cleanly, and reports idle. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.connecting?.abort('stopped');
    const transport = this.detach();
    transport?.stop();
    // Counted after stop(): FCUnpublish and deleteStream are bytes sent too.
    if (transport) this.bytesBefore += transport.bytesSent;
    this.setState('idle', null);
  }

  /** Where the relay stands now, with the bytes sent to its destination so far. */
  status(): RelayStatus {
    return {
      destinationId: this.destination.id,
      streamId: this.destination.streamId,
      state: this.state,
      lastError: this.lastError,
      bytesSent: this.bytesBefore + (this.transport?.bytesSent ?? 0),
      reconnects: this.reconnects,
      since: this.since,
    };
  }

  private setState(state: RelayState, error: string | null): void {
    if (state !== this.state) this.since = this.now();
    this.state = state;
    if (error !== null || state === 'live') this.lastError = error ?? this.lastError;
    this.stopStats?.();
    this.stopStats = undefined;
    if (state === 'live') this.stopStats = tickerEvery(this.options.statsIntervalMs).add(() => this.report(this.status()));
    this.report(this.status());
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    // Every attempt after the first is a reconnect, whether the last one failed or dropped later.
    if (this.triedBefore) this.reconnects++;
    this.triedBefore = true;
    this.attempts++;
    this.setState('connecting', null);
    const transport = this.makeTransport();
    this.connecting = transport;
    try {
      await transport.start();
    } catch (err) {
      transport.abort('start failed');
      this.failed((err as Error).message);
      return;
    } finally {
      this.connecting = undefined;
    }
    if (this.stopped) {
      transport.stop();
      return;
    }
    this.transport = transport;
    transport.onClose((reason) => {
      if (this.transport !== transport) return;
      this.detach();
      // What was still queued never reached the destination.
      this.bytesBefore += Math.max(0, transport.bytesSent - transport.backlog);
      this.failed(reason);
    });
    this.attempts = 0;
    this.setState('live', null);
    this.subscription = this.live.addViewer({
      send: (batch) => this.forward(transport, batch),
      close: () => this.stop(),
    });
  }

  private forward(transport: RelayTransport, batch: readonly RtmpMessage[]): boolean {
    if (this.transport !== transport) return false;
    if (transport.backlog > this.options.maxBacklogBytes) {
      this.detach();
      this.bytesBefore += Math.max(0, transport.bytesSent - transport.backlog);
      transport.abort('too slow');
      this.failed(`the destination fell more than ${this.options.maxBacklogBytes} bytes behind; reconnecting`);
      return false;
    }
    transport.send(batch);
    return true;
  }

  /** Leaves the live stream and forgets the transport; the caller adds its byte count once it is done with it. */
  private detach(): RelayTransport | undefined {
    const transport = this.transport;
    this.subscription?.stop();
    this.subscription = undefined;
    this.transport = undefined;
    return transport;
  }

  private failed(reason: string): void {
    if (this.stopped) return;
    this.setState('error', reason);
    const base = Math.min(this.options.maxRetryMs, this.options.initialRetryMs * 2 ** Math.max(0, this.attempts - 1));
    const delay = base * (0.8 + Math.random() * 0.4);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }
}
