/** Playback ids (what players name to watch a stream or a recording) and URL signing keys. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database } from '../schema.js';

export type PlaybackIdRow = Selectable<Database['playback_ids']>;
export type SigningKeyRow = Selectable<Database['signing_keys']>;

export class PlaybackIdRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['playback_ids']>): Promise<void> {
    await this.db.insertInto('playback_ids').values(row).execute();
  }

  find(id: string): Promise<PlaybackIdRow | undefined> {
    return this.db.selectFrom('playback_ids').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The playback ids of the given streams, oldest first. */
  listForStreams(streamIds: readonly string[]): Promise<PlaybackIdRow[]> {
    if (streamIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('playback_ids').selectAll().where('stream_id', 'in', streamIds).orderBy('position').orderBy('id').execute();
  }

  /** The playback ids of the given broadcasts' recordings, oldest first. */
  listForBroadcasts(broadcastIds: readonly string[]): Promise<PlaybackIdRow[]> {
    if (broadcastIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('playback_ids').selectAll().where('broadcast_id', 'in', broadcastIds).orderBy('position').orderBy('id').execute();
  }

  /** The policies of a stream's or a recording's playback ids. */
  async policiesOf(target: { streamId: string } | { broadcastId: string }): Promise<string[]> {
    const rows = await this.db
      .selectFrom('playback_ids')
      .select('policy')
      .where('streamId' in target ? 'stream_id' : 'broadcast_id', '=', 'streamId' in target ? target.streamId : target.broadcastId)
      .execute();
    return rows.map((r) => r.policy);
  }

  /** How many ids a stream or a recording has had (the next one's position). */
  async countFor(target: { streamId: string } | { broadcastId: string }): Promise<number> {
    const row = await this.db
      .selectFrom('playback_ids')
      .select((eb) => eb.fn.max('position').as('top'))
      .where('streamId' in target ? 'stream_id' : 'broadcast_id', '=', 'streamId' in target ? target.streamId : target.broadcastId)
      .executeTakeFirst();
    return Number(row?.top ?? 0);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('playback_ids').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async deleteForStream(streamId: string): Promise<void> {
    await this.db.deleteFrom('playback_ids').where('stream_id', '=', streamId).execute();
  }

  async deleteForBroadcast(broadcastId: string): Promise<void> {
    await this.db.deleteFrom('playback_ids').where('broadcast_id', '=', broadcastId).execute();
  }
}

export class SigningKeyRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['signing_keys']>): Promise<void> {
    await this.db.insertInto('signing_keys').values(row).execute();
  }

  find(id: string): Promise<SigningKeyRow | undefined> {
    return this.db.selectFrom('signing_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Keys of one account (or of all, `accountId` null), newest first. */
  list(accountId: string | null, limit: number, offset: number): Promise<SigningKeyRow[]> {
    let query = this.db.selectFrom('signing_keys').selectAll();
    if (accountId !== null) query = query.where('account_id', '=', accountId);
    return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('signing_keys').where('id', '=', id).execute();
  }
}
