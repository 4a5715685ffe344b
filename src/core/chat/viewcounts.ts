import { emit, type CoreContext } from '../kernel/context.js';
import type { StreamId } from '../kernel/ids.js';

export interface ChatViewcountOptions {
  /** This node: only the streams whose publisher it holds are counted here. */
  nodeId: string;
  /** Seconds between counts; 0 switches them off. */
  intervalSeconds: number;
  /** How many watch a stream live on this node now (the media plane knows). */
  viewers: (streamId: StreamId) => number;
}

/**
 * Publishes each stream's viewer count to its chat every few seconds, from the node holding
 * the stream's publisher (its open broadcast is tagged with the node), so no count is sent twice.
 *
 * The timer runs only while this node may hold a broadcast: a publisher connecting (heard on
 * the bus, from any node: the event does not say which) starts it, and the first round that
 * finds no open broadcast on this node stops it. An idle node has no timer. Start it before the
 * node takes publishers: it hears of broadcasts as they start, not of those opened before (a
 * node ends those it left open when it starts again).
 */
export class ChatViewcounts {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Counts publishers heard starting, so a round that began before one does not stop the timer. */
  private starts = 0;

  constructor(
    private readonly ctx: CoreContext,
    private readonly options: ChatViewcountOptions,
  ) {}

  start(): void {
    if (this.options.intervalSeconds <= 0 || this.unsubscribe) return;
    this.unsubscribe = this.ctx.bus.subscribe((event) => {
      if (event.type === 'publish.started' || event.type === 'broadcast.started') this.resume();
    });
  }

  /** Sends one round of counts now; returns how many broadcasts are open on this node. */
  async tick(): Promise<number> {
    const open = await this.ctx.store.broadcasts.listOpenOnNode(this.options.nodeId);
    for (const broadcast of open) {
      const streamId = broadcast.stream_id as StreamId;
      await emit(this.ctx, { type: 'chat.viewcount', streamId, viewers: this.options.viewers(streamId), at: this.ctx.now() });
    }
    return open.length;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.pause();
    await this.running;
  }

  private resume(): void {
    this.starts++;
    if (this.timer || !this.unsubscribe) return;
    this.timer = setInterval(() => this.round(), this.options.intervalSeconds * 1000);
    this.timer.unref();
  }

  private pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private round(): void {
    // A slow database must not pile up rounds: one at a time.
    if (this.running) return;
    const starts = this.starts;
    this.running = this.tick()
      .then((open) => {
        if (open === 0 && starts === this.starts) this.pause();
      })
      .catch((err) => this.ctx.onBackgroundError(err, 'chat viewer counts'))
      .finally(() => (this.running = undefined));
  }
}
