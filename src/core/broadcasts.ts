import { emit, type CoreContext } from './context.js';
import { InUseError, NotFoundError } from './errors.js';
import { newId, type BroadcastId, type StreamId } from './ids.js';

/** One live run of a stream, from the first publish to the end of its reconnect window. */
export interface Broadcast {
  id: BroadcastId;
  streamId: StreamId;
  startedAt: string;
  endedAt: string | null;
}

export class BroadcastService {
  constructor(private readonly ctx: CoreContext) {}

  /** Opens a broadcast of the stream; a stream has at most one open at a time. */
  async start(streamId: StreamId): Promise<Broadcast> {
    const id = newId<'BroadcastId'>();
    const startedAt = this.ctx.now();
    await this.ctx.store.transaction(async (tx) => {
      if (!(await tx.streams.findById(streamId))) throw new NotFoundError('No such stream');
      if (await tx.broadcasts.findOpen(streamId)) throw new InUseError('The stream is already live');
      await tx.broadcasts.insert({ id, stream_id: streamId, started_at: startedAt, ended_at: null });
    });
    await emit(this.ctx, { type: 'broadcast.started', streamId, broadcastId: id, at: startedAt });
    return { id, streamId, startedAt, endedAt: null };
  }

  async end(streamId: StreamId): Promise<Broadcast | undefined> {
    const open = await this.ctx.store.broadcasts.findOpen(streamId);
    if (!open) return undefined;
    const endedAt = this.ctx.now();
    await this.ctx.store.broadcasts.end(open.id, endedAt);
    const id = open.id as BroadcastId;
    await emit(this.ctx, { type: 'broadcast.ended', streamId, broadcastId: id, at: endedAt });
    return { id, streamId, startedAt: open.started_at, endedAt };
  }

  async list(streamId: StreamId): Promise<Broadcast[]> {
    const rows = await this.ctx.store.broadcasts.listByStream(streamId);
    return rows.map((r) => ({ id: r.id as BroadcastId, streamId, startedAt: r.started_at, endedAt: r.ended_at }));
  }
}
