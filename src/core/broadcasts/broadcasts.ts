import { emit, type CoreContext } from '../kernel/context.js';
import { DisabledError, InUseError, NotFoundError } from '../kernel/errors.js';
import { isUuid, newId, type BroadcastId, type StreamId } from '../kernel/ids.js';
import type { Stream, StreamService } from '../streams/streams.js';
import type { BroadcastRow, SegmentRow } from '../../store/repositories/broadcasts.js';
import { isUniqueViolation } from '../../store/database.js';
import type { Repositories } from '../../store/store.js';

/**
 * One live run of a stream, from its first publish to the end of its reconnect window. A
 * publisher that reconnects within the window continues the same broadcast (and the same
 * recording); after it, the next publish starts a new one.
 */
export interface Broadcast {
  id: BroadcastId;
  streamId: StreamId;
  startedAt: string;
  endedAt: string | null;
  /** A publisher is connected now; false during the reconnect window. */
  publishing: boolean;
  /** Seconds from start to end, or to now while live. */
  duration: number;
}

/** One piece of a broadcast's recording. */
export interface Segment {
  sequence: number;
  /** Seconds. */
  duration: number;
  /** Follows a publisher reconnect: playlists mark it so players reset their timeline. */
  discontinuity: boolean;
  blobKey: string;
  size: number;
}

export interface Recording {
  broadcast: Broadcast;
  segments: Segment[];
  /** Seconds of media, the sum of the segments. */
  duration: number;
}

export interface PublishStart {
  stream: Stream;
  broadcast: Broadcast;
  /** The publisher continues a broadcast whose previous publisher left within the reconnect window. */
  resumed: boolean;
}

export class BroadcastService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly streams: StreamService,
  ) {}

  private toBroadcast(row: BroadcastRow): Broadcast {
    const end = row.ended_at ? Date.parse(row.ended_at) : Date.parse(this.ctx.now());
    return {
      id: row.id as BroadcastId,
      streamId: row.stream_id as StreamId,
      startedAt: row.started_at,
      endedAt: row.ended_at,
      publishing: row.publishing === 1,
      duration: Math.max(0, (end - Date.parse(row.started_at)) / 1000),
    };
  }

  /**
   * A publisher presents `key`: the stream it opens, with a new broadcast or the one its
   * previous publisher left within the reconnect window. Unknown key: NotFoundError; disabled
   * stream: DisabledError; a publisher already connected: InUseError.
   */
  async beginPublish(key: string, nodeId: string): Promise<PublishStart> {
    const stream = await this.streams.findByKey(key);
    if (!stream) throw new NotFoundError('No stream with that key');
    if (!stream.enabled) throw new DisabledError('The stream is disabled');
    const startedAt = this.ctx.now();
    const inUse = () => new InUseError('The stream is already live from another encoder');
    // Two encoders may race here on PostgreSQL: the conditional update lets one claim an open
    // broadcast, and the unique index on open broadcasts lets one insert a new one.
    const { row, resumed } = await this.ctx.store
      .transaction(async (tx) => {
        const open = await tx.broadcasts.findOpen(stream.id);
        if (open?.publishing === 1) throw inUse();
        if (open) {
          if (!(await tx.broadcasts.claimPublisher(open.id, nodeId))) throw inUse();
          return { row: { ...open, publishing: 1 as const, node_id: nodeId }, resumed: true };
        }
        const inserted = { ...NEW_BROADCAST, id: await nextBroadcastId(tx, stream.id), stream_id: stream.id, started_at: startedAt, node_id: nodeId };
        await tx.broadcasts.insert(inserted);
        return { row: inserted, resumed: false };
      })
      .catch((err: unknown) => {
        if (isUniqueViolation(err)) throw inUse();
        throw err;
      });
    const broadcast = this.toBroadcast(row);
    if (!resumed) await emit(this.ctx, { type: 'broadcast.started', streamId: stream.id, broadcastId: broadcast.id, at: startedAt });
    await emit(this.ctx, { type: 'publish.started', streamId: stream.id, broadcastId: broadcast.id, resumed, at: startedAt });
    return { stream: { ...stream, isLive: true }, broadcast, resumed };
  }

  /** The publisher left; the broadcast stays open for its reconnect window. */
  async endPublish(broadcastId: BroadcastId): Promise<void> {
    const row = await this.ctx.store.broadcasts.findById(broadcastId);
    if (!row) return;
    await this.ctx.store.broadcasts.setPublishing(broadcastId, false, row.node_id);
    // A broadcast the core ended reported its publisher gone when it ended it.
    if (row.ended_at !== null) return;
    await emit(this.ctx, { type: 'publish.ended', streamId: row.stream_id as StreamId, broadcastId, at: this.ctx.now() });
  }

  /** Ends the broadcast when no publisher came back; returns it when it ended, undefined when one did. */
  async endIfIdle(broadcastId: BroadcastId): Promise<Broadcast | undefined> {
    const endedAt = this.ctx.now();
    if (!(await this.ctx.store.broadcasts.endIfIdle(broadcastId, endedAt))) return undefined;
    const row = await this.ctx.store.broadcasts.findById(broadcastId);
    if (!row) return undefined;
    await emit(this.ctx, { type: 'broadcast.ended', streamId: row.stream_id as StreamId, broadcastId, at: endedAt });
    return this.toBroadcast(row);
  }

  /** Opens a broadcast of the stream without an RTMP publisher (segment uploads, tests). */
  async start(streamId: StreamId, nodeId: string | null = null): Promise<Broadcast> {
    const startedAt = this.ctx.now();
    const row = await this.ctx.store
      .transaction(async (tx) => {
        if (!(await tx.streams.findById(streamId))) throw new NotFoundError('No such stream');
        if (await tx.broadcasts.findOpen(streamId)) throw new InUseError('The stream is already live');
        const inserted = { ...NEW_BROADCAST, id: await nextBroadcastId(tx, streamId), stream_id: streamId, started_at: startedAt, node_id: nodeId };
        await tx.broadcasts.insert(inserted);
        return inserted;
      })
      .catch((err: unknown) => {
        if (isUniqueViolation(err)) throw new InUseError('The stream is already live');
        throw err;
      });
    await emit(this.ctx, { type: 'broadcast.started', streamId, broadcastId: row.id, at: startedAt });
    return this.toBroadcast(row);
  }

  /**
   * Opens a broadcast fed by no media node (segment uploads), or joins the one such a feed
   * already opened (another node's upload won the race, or this node stopped between opening it
   * and noting it). InUseError when a node's RTMP publisher holds the stream.
   */
  async startOrJoinUnattended(streamId: StreamId): Promise<Broadcast> {
    try {
      return await this.start(streamId);
    } catch (err) {
      if (!(err instanceof InUseError)) throw err;
      const open = await this.ctx.store.broadcasts.findOpen(streamId);
      if (!open || open.node_id !== null) throw new InUseError('The stream is live from an encoder: uploads cannot feed it now');
      return this.toBroadcast(open);
    }
  }

  /** Ends the stream's open broadcast when it is `broadcastId`, not one opened since. */
  async endIfCurrent(streamId: StreamId, broadcastId: BroadcastId): Promise<Broadcast | undefined> {
    const open = await this.ctx.store.broadcasts.findOpen(streamId);
    return open?.id === broadcastId ? this.end(streamId) : undefined;
  }

  /** Ends the stream's open broadcast at once, publisher or not. */
  async end(streamId: StreamId): Promise<Broadcast | undefined> {
    const open = await this.ctx.store.broadcasts.findOpen(streamId);
    if (!open) return undefined;
    const endedAt = this.ctx.now();
    await this.ctx.store.broadcasts.end(open.id, endedAt);
    const id = open.id as BroadcastId;
    // The publisher is being cut (by the node that holds it, when it hears of the end): it left first.
    if (open.publishing === 1) await emit(this.ctx, { type: 'publish.ended', streamId, broadcastId: id, at: endedAt });
    await emit(this.ctx, { type: 'broadcast.ended', streamId, broadcastId: id, at: endedAt });
    // A broadcast no media node packages (segment uploads) is recorded as it stands; a media
    // node's recording is final once that node has stored its last segment, and it says so.
    if (open.node_id === null) await this.recordingFinished(streamId, id);
    return this.toBroadcast({ ...open, ended_at: endedAt, publishing: 0 });
  }

  /** Ends what a node left open when it stopped without ending it (a crash): their publishers are gone. */
  async recoverNode(nodeId: string): Promise<Broadcast[]> {
    const ended: Broadcast[] = [];
    for (const row of await this.ctx.store.broadcasts.listOpenOnNode(nodeId)) {
      const endedAt = this.ctx.now();
      await this.ctx.store.broadcasts.end(row.id, endedAt);
      await emit(this.ctx, { type: 'broadcast.ended', streamId: row.stream_id as StreamId, broadcastId: row.id as BroadcastId, at: endedAt });
      // What the stopped node had stored is all the recording will hold.
      await this.recordingFinished(row.stream_id as StreamId, row.id as BroadcastId);
      ended.push(this.toBroadcast({ ...row, ended_at: endedAt, publishing: 0 }));
    }
    return ended;
  }

  /**
   * The recording of an ended broadcast is final: its last segment is stored. Reported once
   * (by the media node that packaged it, or by the core for a broadcast no node packaged).
   */
  async recordingFinished(streamId: StreamId, broadcastId: BroadcastId): Promise<void> {
    if (!(await this.ctx.store.broadcasts.markRecorded(broadcastId, this.ctx.now()))) return;
    await emit(this.ctx, { type: 'recording.finished', streamId, broadcastId });
  }

  async recordSegment(broadcastId: BroadcastId, segment: Segment): Promise<void> {
    const row = await this.ctx.store.broadcasts.findById(broadcastId);
    if (!row) throw new NotFoundError('No such broadcast');
    await this.ctx.store.segments.insert({
      broadcast_id: broadcastId,
      sequence: segment.sequence,
      duration_ms: Math.round(segment.duration * 1000),
      discontinuity: segment.discontinuity ? 1 : 0,
      blob_key: segment.blobKey,
      size: segment.size,
      created_at: this.ctx.now(),
    });
    await emit(this.ctx, {
      type: 'segment.written',
      streamId: row.stream_id as StreamId,
      broadcastId,
      sequence: segment.sequence,
      duration: segment.duration,
    });
  }

  /** The next free segment number of a broadcast (a resumed broadcast continues its numbering). */
  async nextSegmentSequence(broadcastId: BroadcastId): Promise<number> {
    return (await this.ctx.store.segments.lastSequence(broadcastId)) + 1;
  }

  /** One recorded segment of the broadcast, or undefined when it has none of that number. */
  async segment(broadcast: Broadcast, sequence: number): Promise<Segment | undefined> {
    const row = await this.ctx.store.segments.find(broadcast.id, sequence);
    return row ? toSegment(row) : undefined;
  }

  /** A broadcast of the stream; undefined when there is none, or its recording was deleted. */
  async get(streamId: string, broadcastId: string): Promise<Broadcast | undefined> {
    if (!isUuid(broadcastId)) return undefined;
    const row = await this.ctx.store.broadcasts.findById(broadcastId.toLowerCase());
    return row && row.stream_id === streamId && row.deleted_at === null ? this.toBroadcast(row) : undefined;
  }

  /** The stream's latest broadcast; undefined when it has none, or its recording was deleted. */
  async latest(streamId: string): Promise<Broadcast | undefined> {
    if (!isUuid(streamId)) return undefined;
    const row = await this.ctx.store.broadcasts.latestOfStream(streamId.toLowerCase());
    return row && row.deleted_at === null ? this.toBroadcast(row) : undefined;
  }

  async list(streamId: StreamId): Promise<Broadcast[]> {
    return (await this.ctx.store.broadcasts.listByStream(streamId)).map((r) => this.toBroadcast(r));
  }

  async recording(broadcast: Broadcast): Promise<Recording> {
    const segments = (await this.ctx.store.segments.listByBroadcast(broadcast.id)).map(toSegment);
    return { broadcast, segments, duration: segments.reduce((sum, s) => sum + s.duration, 0) };
  }
}

/** What a broadcast starts as: open, its publisher connected, no media seen yet. */
const NEW_BROADCAST = { ended_at: null, publishing: 1 as const, deleted_at: null, recorded_at: null, video_width: null, video_height: null, frame_rate: null };

/**
 * The id of a new broadcast of the stream: the one reserved for its first broadcast when a URL
 * naming it was handed out before it started (and no broadcast has taken it), else a fresh one.
 */
async function nextBroadcastId(tx: Repositories, streamId: string): Promise<BroadcastId> {
  const reserved = (await tx.streams.findById(streamId))?.first_broadcast_id ?? null;
  if (reserved !== null && !(await tx.broadcasts.findById(reserved))) return reserved as BroadcastId;
  return newId<'BroadcastId'>();
}

function toSegment(row: SegmentRow): Segment {
  return {
    sequence: Number(row.sequence),
    duration: Number(row.duration_ms) / 1000,
    discontinuity: row.discontinuity === 1,
    blobKey: row.blob_key,
    size: Number(row.size),
  };
}
