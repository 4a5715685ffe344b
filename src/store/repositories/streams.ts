/** Streams: their keys, owners and what each dialect stores on the row; and who else a stream is shared with. */
import type { ExpressionBuilder, Insertable, Selectable, Updateable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database } from '../schema.js';

export type StreamRow = Selectable<Database['streams']>;
export type StreamShareRow = Selectable<Database['stream_shares']>;

export class StreamRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['streams']>): Promise<void> {
    await this.db.insertInto('streams').values(row).execute();
  }

  findById(id: string): Promise<StreamRow | undefined> {
    return this.db
      .selectFrom('streams')
      .selectAll()
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  /** A stream, deleted or not (what a deleted stream was, for the events that report its deletion). */
  findAnyById(id: string): Promise<StreamRow | undefined> {
    return this.db.selectFrom('streams').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** How many streams the account owns (deleted ones are not counted). */
  async countOwned(ownerId: string): Promise<number> {
    const row = await this.db
      .selectFrom('streams')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('owner_id', '=', ownerId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  findByKeyDigest(digest: string): Promise<StreamRow | undefined> {
    return this.db
      .selectFrom('streams')
      .selectAll()
      .where('key_digest', '=', digest)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  findByPublicHostId(publicHostId: string): Promise<StreamRow | undefined> {
    return this.db
      .selectFrom('streams')
      .selectAll()
      .where('public_host_id', '=', publicHostId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  /** Whether any stream, deleted ones included (the unique index holds them too), has this public host id. */
  async publicHostIdTaken(publicHostId: string): Promise<boolean> {
    const row = await this.db.selectFrom('streams').select('id').where('public_host_id', '=', publicHostId).executeTakeFirst();
    return row !== undefined;
  }

  findByPrivateHostId(privateHostId: string): Promise<StreamRow | undefined> {
    return this.db
      .selectFrom('streams')
      .selectAll()
      .where('private_host_id', '=', privateHostId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  listByTenant(tenant: string): Promise<StreamRow[]> {
    return this.db
      .selectFrom('streams')
      .selectAll()
      .where('tenant', '=', tenant)
      .where('deleted_at', 'is', null)
      .orderBy('created_at')
      .execute();
  }

  async updateSession(id: string, changes: { fme_key?: string | null; is_private?: 0 | 1 }, now: string): Promise<void> {
    await this.db
      .updateTable('streams')
      .set({ ...changes, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  listByOwner(ownerId: string): Promise<StreamRow[]> {
    return this.db
      .selectFrom('streams')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('deleted_at', 'is', null)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  async updateKey(id: string, key: string, digest: string, now: string): Promise<void> {
    await this.db
      .updateTable('streams')
      .set({ stream_key: key, key_digest: digest, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  /** The live API's settings of a stream (and its title), as given. */
  async updateLive(
    id: string,
    changes: Pick<Updateable<Database['streams']>, 'title' | 'passthrough' | 'reconnect_window' | 'max_continuous_duration' | 'latency_mode' | 'audio_only' | 'test' | 'new_asset_settings'>,
    now: string,
  ): Promise<void> {
    await this.db.updateTable('streams').set({ ...changes, updated_at: now }).where('id', '=', id).execute();
  }

  /**
   * One page of streams, newest first: of one owner, or of all (`ownerId` null); only the one
   * whose key has this digest, and only those in a live status, when asked. `active`: enabled,
   * with an open broadcast that has recorded a segment (it plays); `idle`: enabled otherwise.
   */
  listPage(filter: { ownerId: string | null; keyDigest?: string; status?: 'idle' | 'active' | 'disabled' }, limit: number, offset: number): Promise<StreamRow[]> {
    let query = this.db.selectFrom('streams as s').selectAll('s').where('s.deleted_at', 'is', null);
    if (filter.ownerId !== null) query = query.where('s.owner_id', '=', filter.ownerId);
    if (filter.keyDigest !== undefined) query = query.where('s.key_digest', '=', filter.keyDigest);
    if (filter.status === 'disabled') query = query.where('s.enabled', '=', 0);
    else if (filter.status !== undefined) {
      const playing = (eb: ExpressionBuilder<Database & { s: Database['streams'] }, 's'>) =>
        eb.exists(
          eb
            .selectFrom('broadcasts as b')
            .innerJoin('segments as g', 'g.broadcast_id', 'b.id')
            .select('b.id')
            .whereRef('b.stream_id', '=', 's.id')
            .where('b.ended_at', 'is', null),
        );
      query = query.where('s.enabled', '=', 1).where((eb) => (filter.status === 'active' ? playing(eb) : eb.not(playing(eb))));
    }
    return query.orderBy('s.created_at', 'desc').orderBy('s.id', 'desc').limit(limit).offset(offset).execute();
  }

  /** Marks the stream deleted: its key opens nothing and it vanishes from every API. */
  async markDeleted(id: string, now: string): Promise<void> {
    await this.db.updateTable('streams').set({ deleted_at: now, updated_at: now }).where('id', '=', id).execute();
  }

  async setEnabled(id: string, enabled: boolean, now: string): Promise<void> {
    await this.db
      .updateTable('streams')
      .set({ enabled: enabled ? 1 : 0, updated_at: now })
      .where('id', '=', id)
      .execute();
  }
}

export class StreamShareRepository {
  constructor(private readonly db: Executor) {}

  find(streamId: string, userId: string): Promise<StreamShareRow | undefined> {
    return this.db
      .selectFrom('stream_shares')
      .selectAll()
      .where('stream_id', '=', streamId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  listByStream(streamId: string): Promise<StreamShareRow[]> {
    return this.db
      .selectFrom('stream_shares')
      .selectAll()
      .where('stream_id', '=', streamId)
      .orderBy('created_at')
      .orderBy('user_id')
      .execute();
  }

  async insert(row: Insertable<Database['stream_shares']>): Promise<void> {
    await this.db.insertInto('stream_shares').values(row).execute();
  }

  async update(streamId: string, userId: string, changes: Updateable<Database['stream_shares']>): Promise<void> {
    await this.db.updateTable('stream_shares').set(changes).where('stream_id', '=', streamId).where('user_id', '=', userId).execute();
  }

  async delete(streamId: string, userId: string): Promise<void> {
    await this.db.deleteFrom('stream_shares').where('stream_id', '=', streamId).where('user_id', '=', userId).execute();
  }
}
