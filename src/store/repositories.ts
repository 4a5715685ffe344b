import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database } from './schema.js';

export type AccountRow = Selectable<Database['accounts']>;
export type StreamRow = Selectable<Database['streams']>;
export type DestinationRow = Selectable<Database['destinations']>;
export type BroadcastRow = Selectable<Database['broadcasts']>;
export type ApiClientRow = Selectable<Database['api_clients']>;
export type SegmentRow = Selectable<Database['segments']>;

/** An open database or a transaction on it: repositories work the same on both. */
export type Executor = Kysely<Database>;

export class AccountRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['accounts']>): Promise<void> {
    await this.db.insertInto('accounts').values(row).execute();
  }

  findById(id: string): Promise<AccountRow | undefined> {
    return this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByUsername(tenant: string, username: string): Promise<AccountRow | undefined> {
    return this.db
      .selectFrom('accounts')
      .selectAll()
      .where('tenant', '=', tenant)
      .where('username', '=', username)
      .executeTakeFirst();
  }

  findByEmailKey(tenant: string, emailKey: string): Promise<AccountRow | undefined> {
    return this.db
      .selectFrom('accounts')
      .selectAll()
      .where('tenant', '=', tenant)
      .where('email_key', '=', emailKey)
      .executeTakeFirst();
  }

  async updatePassword(id: string, passwordHash: string, now: string): Promise<void> {
    await this.db
      .updateTable('accounts')
      .set({ password_hash: passwordHash, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  list(tenant: string): Promise<AccountRow[]> {
    return this.db
      .selectFrom('accounts')
      .selectAll()
      .where('tenant', '=', tenant)
      .orderBy('created_at')
      .orderBy('username')
      .execute();
  }
}

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

  findByKeyDigest(digest: string): Promise<StreamRow | undefined> {
    return this.db
      .selectFrom('streams')
      .selectAll()
      .where('key_digest', '=', digest)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
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

  async setEnabled(id: string, enabled: boolean, now: string): Promise<void> {
    await this.db
      .updateTable('streams')
      .set({ enabled: enabled ? 1 : 0, updated_at: now })
      .where('id', '=', id)
      .execute();
  }
}

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

export class DestinationRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['destinations']>): Promise<void> {
    await this.db.insertInto('destinations').values(row).execute();
  }

  findById(id: string): Promise<DestinationRow | undefined> {
    return this.db.selectFrom('destinations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async setEnabled(id: string, enabled: boolean): Promise<void> {
    await this.db.updateTable('destinations').set({ enabled: enabled ? 1 : 0 }).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('destinations').where('id', '=', id).execute();
  }

  listByStream(streamId: string): Promise<DestinationRow[]> {
    return this.db
      .selectFrom('destinations')
      .selectAll()
      .where('stream_id', '=', streamId)
      .orderBy('number')
      .execute();
  }
}

export class SettingsRepository {
  constructor(private readonly db: Executor) {}

  async get(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  /** Stores `value` unless the key is already set, and returns what is stored: the first writer wins. */
  async getOrInit(key: string, value: string): Promise<string> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const stored = await this.get(key);
    if (stored === undefined) throw new Error(`setting ${key} vanished after it was written`);
    return stored;
  }
}

export class SequenceRepository {
  constructor(private readonly db: Executor) {}

  /** The next number of a named sequence; the row lock makes concurrent callers take turns. */
  async next(name: string): Promise<number> {
    const row = await this.db
      .updateTable('id_sequences')
      .set((eb) => ({ value: eb('value', '+', 1) }))
      .where('name', '=', name)
      .returning('value')
      .executeTakeFirstOrThrow();
    return Number(row.value);
  }
}
