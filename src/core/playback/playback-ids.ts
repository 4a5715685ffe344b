import { randomBytes } from 'node:crypto';
import type { CoreContext } from '../kernel/context.js';
import { NotFoundError, ValidationError } from '../kernel/errors.js';
import type { BroadcastId, StreamId } from '../kernel/ids.js';
import { KeptAnswers } from './kept-answers.js';
import type { PlaybackIdRow } from '../../store/repositories/playback.js';
import type { Repositories } from '../../store/store.js';

/** Who may play a playback id: anyone, or a holder of a token signed with a signing key. */
export type PlaybackPolicy = 'public' | 'signed';
export const PLAYBACK_POLICIES: readonly PlaybackPolicy[] = ['public', 'signed'];

export function isPlaybackPolicy(value: unknown): value is PlaybackPolicy {
  return value === 'public' || value === 'signed';
}

/** Playback ids one stream or recording may have. */
export const MAX_PLAYBACK_IDS = 10;

/** A name players use to watch: a stream (its live playlist) or one broadcast's recording. */
export interface PlaybackId {
  id: string;
  policy: PlaybackPolicy;
  createdAt: string;
}

/** What a playback id plays, and whose it is. */
export type PlaybackTarget =
  | { kind: 'stream'; streamId: StreamId; ownerId: string }
  | { kind: 'recording'; broadcastId: BroadcastId; streamId: StreamId; ownerId: string };

export interface ResolvedPlaybackId extends PlaybackId {
  target: PlaybackTarget;
}

/**
 * A fresh playback id: 192 bits as 32 letters and digits, long enough that ids of signed
 * playback cannot be guessed and plain enough for any URL path.
 */
export function newPlaybackId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let id = '';
  // 62 * 4 = 248 ≤ 256: bytes of 248 and above are drawn again, so every letter is as likely.
  while (id.length < 32) {
    for (const byte of randomBytes(40)) {
      if (byte < 248 && id.length < 32) id += alphabet[byte % 62];
    }
  }
  return id;
}

const PLAYBACK_ID_SHAPE = /^[A-Za-z0-9]{1,64}$/;

export function looksLikePlaybackId(value: string): boolean {
  return PLAYBACK_ID_SHAPE.test(value);
}

export function toPlaybackId(row: PlaybackIdRow): PlaybackId {
  return { id: row.id, policy: row.policy === 'signed' ? 'signed' : 'public', createdAt: row.created_at };
}

/**
 * Playback ids of streams and recordings. Made with their stream or recording (by the live API)
 * or added later; a stream's or recording's ids go with it.
 */
export class PlaybackIdService {
  /** What each playback id plays, kept until something changes. */
  private readonly resolved: KeptAnswers<ResolvedPlaybackId>;

  constructor(private readonly ctx: CoreContext) {
    this.resolved = new KeptAnswers(ctx);
  }

  /** Adds a playback id in `tx` (the caller checked the stream or broadcast is the caller's). */
  async add(tx: Repositories, target: { streamId: StreamId } | { broadcastId: BroadcastId }, policy: PlaybackPolicy): Promise<PlaybackId> {
    const held = await tx.playbackIds.policiesOf('streamId' in target ? { streamId: target.streamId } : { broadcastId: target.broadcastId });
    if (held.length >= MAX_PLAYBACK_IDS) throw new ValidationError('Too many playback ids', { playback_ids: `at most ${MAX_PLAYBACK_IDS} per live stream or asset` });
    const row = {
      id: newPlaybackId(),
      stream_id: 'streamId' in target ? target.streamId : null,
      broadcast_id: 'broadcastId' in target ? target.broadcastId : null,
      policy,
      position: (await tx.playbackIds.countFor(target)) + 1,
      created_at: this.ctx.now(),
    };
    await tx.playbackIds.insert(row);
    return toPlaybackId(row);
  }

  async ofStreams(streamIds: readonly StreamId[]): Promise<Map<StreamId, PlaybackId[]>> {
    const byStream = new Map<StreamId, PlaybackId[]>();
    for (const row of await this.ctx.store.playbackIds.listForStreams(streamIds)) {
      const list = byStream.get(row.stream_id as StreamId) ?? [];
      list.push(toPlaybackId(row));
      byStream.set(row.stream_id as StreamId, list);
    }
    return byStream;
  }

  async ofRecordings(broadcastIds: readonly BroadcastId[]): Promise<Map<BroadcastId, PlaybackId[]>> {
    const byBroadcast = new Map<BroadcastId, PlaybackId[]>();
    for (const row of await this.ctx.store.playbackIds.listForBroadcasts(broadcastIds)) {
      const list = byBroadcast.get(row.broadcast_id as BroadcastId) ?? [];
      list.push(toPlaybackId(row));
      byBroadcast.set(row.broadcast_id as BroadcastId, list);
    }
    return byBroadcast;
  }

  /**
   * What a playback id plays, or undefined when there is no such id or what it played is gone
   * (a deleted stream, a deleted recording).
   */
  async resolve(id: string): Promise<ResolvedPlaybackId | undefined> {
    if (!looksLikePlaybackId(id)) return undefined;
    return this.resolved.get(id, () => this.lookUp(id));
  }

  private async lookUp(id: string): Promise<ResolvedPlaybackId | undefined> {
    const row = await this.ctx.store.playbackIds.find(id);
    if (!row) return undefined;
    if (row.stream_id !== null) {
      const stream = await this.ctx.store.streams.findById(row.stream_id);
      if (!stream) return undefined;
      return { ...toPlaybackId(row), target: { kind: 'stream', streamId: stream.id as StreamId, ownerId: stream.owner_id } };
    }
    if (row.broadcast_id === null) return undefined;
    const broadcast = await this.ctx.store.broadcasts.findById(row.broadcast_id);
    if (!broadcast || broadcast.deleted_at !== null) return undefined;
    const stream = await this.ctx.store.streams.findById(broadcast.stream_id);
    if (!stream) return undefined;
    return {
      ...toPlaybackId(row),
      target: { kind: 'recording', broadcastId: broadcast.id as BroadcastId, streamId: stream.id as StreamId, ownerId: stream.owner_id },
    };
  }

  /** Removes one playback id of a stream or a recording; NotFoundError when it is not theirs. */
  async remove(owner: { streamId: StreamId } | { broadcastId: BroadcastId }, id: string): Promise<void> {
    await this.ctx.store.playbackIds.delete((await this.rowOf(owner, id)).id);
  }

  /** One playback id of a stream or a recording; NotFoundError when it is not theirs. */
  async get(owner: { streamId: StreamId } | { broadcastId: BroadcastId }, id: string): Promise<PlaybackId> {
    return toPlaybackId(await this.rowOf(owner, id));
  }

  private async rowOf(owner: { streamId: StreamId } | { broadcastId: BroadcastId }, id: string): Promise<PlaybackIdRow> {
    const row = looksLikePlaybackId(id) ? await this.ctx.store.playbackIds.find(id) : undefined;
    const matches = row && ('streamId' in owner ? row.stream_id === owner.streamId : row.broadcast_id === owner.broadcastId);
    if (!row || !matches) throw new NotFoundError('No such playback id');
    return row;
  }
}
