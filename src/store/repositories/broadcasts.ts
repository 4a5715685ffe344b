/** Broadcasts, their recorded segments, and the go-live state of their streams. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database, Flag } from '../schema.js';

export type BroadcastRow = Selectable<Database['broadcasts']>;
export type SegmentRow = Selectable<Database['segments']>;

export class BroadcastRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['broadcasts']>): Promise<void> {
    await this.db.insertInto('broadcasts').values(row).execute();
  }

  findOpen(streamId: string): Promise<BroadcastRow | undefined> {
    return this.db
      .selectFrom('broadcasts')
      .selectAll()
      .where('stream_id', '=', streamId)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
  }

  /** Of the given streams, those with a broadcast in progress. */
  async liveStreamIds(streamIds: readonly string[]): Promise<Set<string>> {
    if (streamIds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('broadcasts')
      .select('stream_id')
      .where('stream_id', 'in', streamIds)
      .where('ended_at', 'is', null)
      .execute();
    return new Set(rows.map((r) => r.stream_id));
  }

  findById(id: string): Promise<BroadcastRow | undefined> {
    return this.db.selectFrom('broadcasts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async end(id: string, endedAt: string): Promise<void> {
    await this.db.updateTable('broadcasts').set({ ended_at: endedAt, publishing: 0 }).where('id', '=', id).execute();
  }

  /** Ends the broadcast unless a publisher is connected to it again; true when it ended. */
  async endIfIdle(id: string, endedAt: string): Promise<boolean> {
    const result = await this.db
      .updateTable('broadcasts')
      .set({ ended_at: endedAt })
      .where('id', '=', id)
      .where('publishing', '=', 0)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Marks a publisher connected to an open broadcast unless one already is; false when one is. */
  async claimPublisher(id: string, nodeId: string): Promise<boolean> {
    const result = await this.db
      .updateTable('broadcasts')
      .set({ publishing: 1, node_id: nodeId })
      .where('id', '=', id)
      .where('publishing', '=', 0)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async setPublishing(id: string, publishing: boolean, nodeId: string | null): Promise<void> {
    await this.db
      .updateTable('broadcasts')
      .set({ publishing: publishing ? 1 : 0, node_id: nodeId })
      .where('id', '=', id)
      .execute();
  }

  /** Broadcasts a node left open, e.g. when it stopped without ending them. */
  listOpenOnNode(nodeId: string): Promise<BroadcastRow[]> {
    return this.db
      .selectFrom('broadcasts')
      .selectAll()
      .where('node_id', '=', nodeId)
      .where('ended_at', 'is', null)
      .execute();
  }

  latestOfStream(streamId: string): Promise<BroadcastRow | undefined> {
    return this.db
      .selectFrom('broadcasts')
      .selectAll()
      .where('stream_id', '=', streamId)
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Broadcasts of the given streams, ended or not, started within [from, to] when given. */
  listForStreams(streamIds: readonly string[], range: { from?: string; to?: string } = {}): Promise<BroadcastRow[]> {
    if (streamIds.length === 0) return Promise.resolve([]);
    let query = this.db.selectFrom('broadcasts').selectAll().where('stream_id', 'in', streamIds);
    if (range.from !== undefined) query = query.where('started_at', '>=', range.from);
    if (range.to !== undefined) query = query.where('started_at', '<=', range.to);
    return query.orderBy('started_at').execute();
  }

  /**
   * One page of recordings (broadcasts whose recording was not deleted), newest first: of the
   * given owner's streams or of all (`ownerId` null), of one stream when `streamId` is given.
   */
  listRecordingsPage(filter: { ownerId: string | null; streamId?: string }, limit: number, offset: number): Promise<BroadcastRow[]> {
    let query = this.db
      .selectFrom('broadcasts as b')
      .innerJoin('streams as s', 's.id', 'b.stream_id')
      .selectAll('b')
      .where('b.deleted_at', 'is', null)
      .where('s.deleted_at', 'is', null);
    if (filter.ownerId !== null) query = query.where('s.owner_id', '=', filter.ownerId);
    if (filter.streamId !== undefined) query = query.where('b.stream_id', '=', filter.streamId);
    return query.orderBy('b.started_at', 'desc').orderBy('b.id', 'desc').limit(limit).offset(offset).execute();
  }

  /** The newest recordings of a stream (not deleted), newest first. */
  recentRecordings(streamId: string, limit: number): Promise<BroadcastRow[]> {
    return this.db
      .selectFrom('broadcasts')
      .selectAll()
      .where('stream_id', '=', streamId)
      .where('deleted_at', 'is', null)
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  /** What the publisher's media showed: the largest picture, its frame rate. */
  async noteMedia(id: string, facts: { video_width: number; video_height: number; frame_rate: number | null }): Promise<void> {
    await this.db.updateTable('broadcasts').set(facts).where('id', '=', id).execute();
  }

  /** Marks the recording final; false when it already was. */
  async markRecorded(id: string, at: string): Promise<boolean> {
    const result = await this.db.updateTable('broadcasts').set({ recorded_at: at }).where('id', '=', id).where('recorded_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async markDeleted(id: string, at: string): Promise<void> {
    await this.db.updateTable('broadcasts').set({ deleted_at: at }).where('id', '=', id).execute();
  }

  listByStream(streamId: string): Promise<BroadcastRow[]> {
    return this.db
      .selectFrom('broadcasts')
      .selectAll()
      .where('stream_id', '=', streamId)
      .orderBy('started_at')
      .execute();
  }
}

export class SegmentRepository {
  constructor(private readonly db: Executor) {}

  async deleteByBroadcast(broadcastId: string): Promise<void> {
    await this.db.deleteFrom('segments').where('broadcast_id', '=', broadcastId).execute();
  }

  async insert(row: Insertable<Database['segments']>): Promise<void> {
    await this.db.insertInto('segments').values(row).execute();
  }

  listByBroadcast(broadcastId: string): Promise<SegmentRow[]> {
    return this.db
      .selectFrom('segments')
      .selectAll()
      .where('broadcast_id', '=', broadcastId)
      .orderBy('sequence')
      .execute();
  }

  /** Per broadcast: bytes and milliseconds of its recording. */
  async totals(broadcastIds: readonly string[]): Promise<Map<string, { bytes: number; durationMs: number; segments: number }>> {
    const out = new Map<string, { bytes: number; durationMs: number; segments: number }>();
    if (broadcastIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('segments')
      .select((eb) => ['broadcast_id', eb.fn.sum<number>('size').as('bytes'), eb.fn.sum<number>('duration_ms').as('ms'), eb.fn.countAll<number>().as('n')])
      .where('broadcast_id', 'in', broadcastIds)
      .groupBy('broadcast_id')
      .execute();
    for (const row of rows) out.set(row.broadcast_id, { bytes: Number(row.bytes), durationMs: Number(row.ms), segments: Number(row.n) });
    return out;
  }

  find(broadcastId: string, sequence: number): Promise<SegmentRow | undefined> {
    return this.db.selectFrom('segments').selectAll().where('broadcast_id', '=', broadcastId).where('sequence', '=', sequence).executeTakeFirst();
  }

  /** The highest sequence number used in the broadcast, or -1. */
  async lastSequence(broadcastId: string): Promise<number> {
    const row = await this.db
      .selectFrom('segments')
      .select((eb) => eb.fn.max('sequence').as('last'))
      .where('broadcast_id', '=', broadcastId)
      .executeTakeFirst();
    return row?.last === null || row?.last === undefined ? -1 : Number(row.last);
  }
}

/**
 * The columns go-live keeps on `streams` (migration 0011), kept out of StreamsTable so that
 * code building whole stream rows need not know them.
 */
type GoLiveColumns = {
  streams: {
    /** The relays of the open broadcast are on (0 during a preview and when not live). */
    pushing: Flag;
    /** A puller (ffmpeg reading `ffmpeg_pull_args`) feeds the stream. */
    pulling: Flag;
    /** The node that runs the puller. */
    pull_node: string | null;
  };
};

/** Go-live state: whether a stream's relays are on, and its puller. */
export class GoLiveRepository {
  private readonly db;

  constructor(db: Executor) {
    this.db = db.withTables<GoLiveColumns>();
  }

  async state(streamId: string): Promise<{ pushing: boolean; pulling: boolean; pullNode: string | null } | undefined> {
    const row = await this.db
      .selectFrom('streams')
      .select(['pushing', 'pulling', 'pull_node'])
      .where('id', '=', streamId)
      .executeTakeFirst();
    return row && { pushing: Number(row.pushing) === 1, pulling: Number(row.pulling) === 1, pullNode: row.pull_node };
  }

  /** Sets the flag when it differs; true when it changed (so exactly one caller reports the change). */
  async setPushing(streamId: string, on: boolean): Promise<boolean> {
    const result = await this.db
      .updateTable('streams')
      .set({ pushing: on ? 1 : 0 })
      .where('id', '=', streamId)
      .where('pushing', '=', on ? 0 : 1)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Sets the flag (and the node that runs the puller) when it differs; true when it changed. */
  async setPulling(streamId: string, on: boolean, nodeId: string | null): Promise<boolean> {
    const result = await this.db
      .updateTable('streams')
      .set({ pulling: on ? 1 : 0, pull_node: on ? nodeId : null })
      .where('id', '=', streamId)
      .where('pulling', '=', on ? 0 : 1)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Streams whose puller a node was running (it stopped without stopping them). */
  async pullingOnNode(nodeId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('streams').select('id').where('pulling', '=', 1).where('pull_node', '=', nodeId).execute();
    return rows.map((r) => r.id);
  }
}
