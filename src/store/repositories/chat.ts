/** Chat rooms and their messages. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database } from '../schema.js';

export type ChatMessageRow = Selectable<Database['chat_messages']>;

/** Chat rooms and their messages. */
export class ChatRepository {
  constructor(private readonly db: Executor) {}

  /**
   * The next message number of a stream's room. The upsert locks the room's row until the
   * transaction ends, so posts to one room take turns across every connection and node.
   */
  async nextId(streamId: string): Promise<number> {
    const row = await this.db
      .insertInto('chat_rooms')
      .values({ stream_id: streamId, last_id: 1 })
      .onConflict((oc) => oc.column('stream_id').doUpdateSet((eb) => ({ last_id: eb('chat_rooms.last_id', '+', 1) })))
      .returning('last_id')
      .executeTakeFirstOrThrow();
    return Number(row.last_id);
  }

  async insert(row: Insertable<Database['chat_messages']>): Promise<void> {
    await this.db.insertInto('chat_messages').values(row).execute();
  }

  /** When the author's latest `limit` messages in the room since `since` were stored, newest first. */
  async recentPostTimes(streamId: string, authorId: string, since: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('chat_messages')
      .select('created_at')
      .where('stream_id', '=', streamId)
      .where('author_id', '=', authorId)
      .where('created_at', '>', since)
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => r.created_at);
  }

  /** The room's last `limit` messages, oldest first. */
  async latest(streamId: string, limit: number): Promise<ChatMessageRow[]> {
    const rows = await this.db
      .selectFrom('chat_messages')
      .selectAll()
      .where('stream_id', '=', streamId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.reverse();
  }

  /** When the chatter's (or, with `byAddress`, the address's) latest `limit` messages in the room since `since` were stored, newest first. */
  async recentTimesOf(streamId: string, by: { chatter: string } | { addressDigest: string }, since: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('chat_messages')
      .select('created_at')
      .where('stream_id', '=', streamId)
      .where((eb) => ('chatter' in by ? eb('chatter', '=', by.chatter) : eb('address_digest', '=', by.addressDigest)))
      .where('created_at', '>', since)
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => r.created_at);
  }

  async find(streamId: string, id: number): Promise<ChatMessageRow | undefined> {
    return this.db.selectFrom('chat_messages').selectAll().where('stream_id', '=', streamId).where('id', '=', id).executeTakeFirst();
  }

  /** Removes one message; whether there was one. */
  async delete(streamId: string, id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('chat_messages').where('stream_id', '=', streamId).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async mute(streamId: string, chatter: string, now: string): Promise<void> {
    await this.db
      .insertInto('chat_mutes')
      .values({ stream_id: streamId, chatter, created_at: now })
      .onConflict((oc) => oc.columns(['stream_id', 'chatter']).doNothing())
      .execute();
  }

  async isMuted(streamId: string, chatter: string): Promise<boolean> {
    const row = await this.db.selectFrom('chat_mutes').select('chatter').where('stream_id', '=', streamId).where('chatter', '=', chatter).executeTakeFirst();
    return row !== undefined;
  }
}
