import type { BlobStore } from '../../blob/blob-store.js';
import { inScope, ownerFilter, type AccountScope } from '../accounts/scope.js';
import { emit, type CoreContext } from '../kernel/context.js';
import { ConflictError, NotFoundError } from '../kernel/errors.js';
import type { DomainEvent } from '../kernel/events.js';
import { isUuid, type AccountId, type BroadcastId, type StreamId } from '../kernel/ids.js';
import type { PlaybackId, PlaybackIdService, PlaybackPolicy } from '../playback/playback-ids.js';
import { liveSettingsOf } from '../streams/live-settings.js';
import type { BroadcastRow } from '../../store/repositories/broadcasts.js';

/**
 * Where a recording stands: `preparing` until its first segment is stored, then `ready` (it
 * plays, growing while its broadcast runs, as Mux's live assets do); `errored` when it was
 * finished with nothing recorded.
 */
export type RecordingStatus = 'preparing' | 'ready' | 'errored';

/** The recording of one broadcast, as the live API shows it (an asset). */
export interface RecordingView {
  id: BroadcastId;
  streamId: StreamId;
  ownerId: AccountId;
  startedAt: string;
  endedAt: string | null;
  /** When the recording was final (after its broadcast ended), or null. */
  finishedAt: string | null;
  status: RecordingStatus;
  /** Seconds of media recorded so far. */
  duration: number;
  /** Its broadcast is still running. */
  isLive: boolean;
  playbackIds: PlaybackId[];
  /** The stream's `new_asset_settings.passthrough`, else the stream's own passthrough. */
  passthrough: string | null;
  test: boolean;
  /** The largest picture the publisher sent, and its frame rate; null before any video. */
  videoWidth: number | null;
  videoHeight: number | null;
  frameRate: number | null;
}

/** What the media showed of a broadcast: the largest picture and its frame rate. */
export interface MediaFacts {
  width: number;
  height: number;
  frameRate: number | null;
}

/**
 * The recordings of broadcasts (the live API's assets): listed, shown, given playback ids and
 * deleted, media and all. A broadcast's recording gets the playback ids its stream's
 * `new_asset_settings` name when the broadcast starts.
 */
export class RecordingService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly blobs: BlobStore,
    private readonly playbackIds: PlaybackIdService,
  ) {
    // Once per broadcast in the cluster, whichever ingest started it.
    ctx.observers?.add((event) => this.observe(event));
  }

  private async observe(event: DomainEvent): Promise<void> {
    if (event.type !== 'broadcast.started') return;
    const stream = await this.ctx.store.streams.findById(event.streamId);
    const policies = stream ? (liveSettingsOf(stream).newAssetSettings?.playbackPolicies ?? []) : [];
    if (policies.length === 0) return;
    await this.ctx.store.transaction(async (tx) => {
      for (const policy of policies) await this.playbackIds.add(tx, { broadcastId: event.broadcastId }, policy);
    });
    await emit(this.ctx, { type: 'playback.access_changed', streamId: event.streamId, broadcastId: event.broadcastId });
  }

  async list(scope: AccountScope, filter: { streamId?: string }, limit: number, offset: number): Promise<RecordingView[]> {
    if (filter.streamId !== undefined && !isUuid(filter.streamId)) return [];
    const rows = await this.ctx.store.broadcasts.listRecordingsPage(
      { ownerId: ownerFilter(scope), ...(filter.streamId !== undefined ? { streamId: filter.streamId.toLowerCase() } : {}) },
      limit,
      offset,
    );
    return this.views(rows);
  }

  async get(scope: AccountScope, id: string): Promise<RecordingView> {
    const [view] = await this.views([await this.row(scope, id)]);
    return view!;
  }

  /** A recording, deleted or not, for the events that report it; no scope. */
  async describe(id: BroadcastId): Promise<RecordingView | undefined> {
    const row = await this.ctx.store.broadcasts.findById(id);
    return row ? (await this.views([row]))[0] : undefined;
  }

  /**
   * Deletes a recording: its segments leave the blob store and the database, its playback ids
   * play nothing. A recording still being made cannot be deleted (ConflictError): complete the
   * live stream first.
   */
  async delete(scope: AccountScope, id: string): Promise<void> {
    const row = await this.row(scope, id);
    if (row.ended_at === null) throw new ConflictError('The recording is still being made: complete its live stream first');
    const broadcastId = row.id as BroadcastId;
    // The rows go in one transaction (no half-deleted recording a retry cannot reach); the media
    // after, each object on its own: one that cannot be removed now is reported, not fatal.
    const segments = await this.ctx.store.transaction(async (tx) => {
      await tx.broadcasts.markDeleted(broadcastId, this.ctx.now());
      const listed = await tx.segments.listByBroadcast(broadcastId);
      await tx.segments.deleteByBroadcast(broadcastId);
      await tx.playbackIds.deleteForBroadcast(broadcastId);
      return listed;
    });
    for (const segment of segments) {
      await this.blobs.delete(segment.blob_key).catch((err: unknown) => this.ctx.onBackgroundError(err, 'deleting a recorded segment'));
    }
    const stream = await this.ctx.store.streams.findAnyById(row.stream_id);
    await emit(this.ctx, { type: 'recording.deleted', streamId: row.stream_id as StreamId, broadcastId, ownerId: (stream?.owner_id ?? '') as AccountId });
  }

  async addPlaybackId(scope: AccountScope, id: string, policy: PlaybackPolicy): Promise<PlaybackId> {
    const row = await this.row(scope, id);
    const added = await this.ctx.store.transaction((tx) => this.playbackIds.add(tx, { broadcastId: row.id as BroadcastId }, policy));
    await emit(this.ctx, { type: 'playback.access_changed', streamId: row.stream_id as StreamId, broadcastId: row.id as BroadcastId });
    return added;
  }

  async playbackId(scope: AccountScope, id: string, playbackId: string): Promise<PlaybackId> {
    const row = await this.row(scope, id);
    return this.playbackIds.get({ broadcastId: row.id as BroadcastId }, playbackId);
  }

  async removePlaybackId(scope: AccountScope, id: string, playbackId: string): Promise<void> {
    const row = await this.row(scope, id);
    await this.playbackIds.remove({ broadcastId: row.id as BroadcastId }, playbackId);
    await emit(this.ctx, { type: 'playback.access_changed', streamId: row.stream_id as StreamId, broadcastId: row.id as BroadcastId });
  }

  /** A recording's segments in order, where the blob store keeps each and its size (for a download of the whole). */
  async segments(scope: AccountScope, id: string): Promise<{ id: BroadcastId; streamId: StreamId; segments: { sequence: number; blobKey: string; size: number }[] }> {
    const row = await this.row(scope, id);
    const rows = await this.ctx.store.segments.listByBroadcast(row.id);
    return {
      id: row.id as BroadcastId,
      streamId: row.stream_id as StreamId,
      segments: rows.map((s) => ({ sequence: Number(s.sequence), blobKey: s.blob_key, size: Number(s.size) })),
    };
  }

  /** How many segments a broadcast has recorded so far. */
  async segmentCount(broadcastId: BroadcastId): Promise<number> {
    return (await this.ctx.store.segments.totals([broadcastId])).get(broadcastId)?.segments ?? 0;
  }

  /** Notes what a broadcast's media showed (the media plane reports it once the picture is known). */
  async noteMedia(broadcastId: BroadcastId, facts: MediaFacts): Promise<void> {
    await this.ctx.store.broadcasts.noteMedia(broadcastId, { video_width: facts.width, video_height: facts.height, frame_rate: facts.frameRate });
  }

  private async row(scope: AccountScope, id: string): Promise<BroadcastRow> {
    const row = isUuid(id) ? await this.ctx.store.broadcasts.findById(id.toLowerCase()) : undefined;
    const stream = row && row.deleted_at === null ? await this.ctx.store.streams.findById(row.stream_id) : undefined;
    if (!row || !stream || !inScope(scope, stream.owner_id)) throw new NotFoundError('No such asset');
    return row;
  }

  private async views(rows: BroadcastRow[]): Promise<RecordingView[]> {
    const ids = rows.map((r) => r.id as BroadcastId);
    const [totals, playback] = await Promise.all([this.ctx.store.segments.totals(ids), this.playbackIds.ofRecordings(ids)]);
    const streams = new Map<string, Awaited<ReturnType<typeof this.ctx.store.streams.findAnyById>>>();
    for (const row of rows) if (!streams.has(row.stream_id)) streams.set(row.stream_id, await this.ctx.store.streams.findAnyById(row.stream_id));
    return rows.map((row) => {
      const stream = streams.get(row.stream_id);
      const settings = stream ? liveSettingsOf(stream) : undefined;
      const total = totals.get(row.id);
      const recorded = (total?.segments ?? 0) > 0;
      const ended = row.ended_at !== null;
      const finished = row.recorded_at !== null;
      return {
        id: row.id as BroadcastId,
        streamId: row.stream_id as StreamId,
        ownerId: (stream?.owner_id ?? '') as AccountId,
        startedAt: row.started_at,
        endedAt: row.ended_at,
        finishedAt: row.recorded_at,
        status: recorded ? 'ready' : finished ? 'errored' : 'preparing',
        duration: (total?.durationMs ?? 0) / 1000,
        isLive: !ended,
        playbackIds: playback.get(row.id as BroadcastId) ?? [],
        passthrough: settings?.newAssetSettings?.passthrough ?? settings?.passthrough ?? null,
        test: settings?.test ?? false,
        videoWidth: row.video_width === null ? null : Number(row.video_width),
        videoHeight: row.video_height === null ? null : Number(row.video_height),
        frameRate: row.frame_rate === null ? null : Number(row.frame_rate),
      };
    });
  }
}
