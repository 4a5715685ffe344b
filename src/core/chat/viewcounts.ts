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
 */
export class ChatViewcounts {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly ctx: CoreContext,
    private readonly options: ChatViewcountOptions,
  ) {}

  start(): void {
    if (this.options.intervalSeconds <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      // A slow database must not pile up rounds: one at a time.
      this.running ??= this.tick()
        .catch((err) => this.ctx.onBackgroundError(err, 'chat viewer counts'))
        .finally(() => (this.running = undefined));
    }, this.options.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Sends one round of counts now. */
  async tick(): Promise<void> {
    for (const broadcast of await this.ctx.store.broadcasts.listOpenOnNode(this.options.nodeId)) {
      const streamId = broadcast.stream_id as StreamId;
      await emit(this.ctx, { type: 'chat.viewcount', streamId, viewers: this.options.viewers(streamId), at: this.ctx.now() });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
