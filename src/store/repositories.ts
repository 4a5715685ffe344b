import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database } from './schema.js';

export type AccountRow = Selectable<Database['accounts']>;
export type StreamRow = Selectable<Database['streams']>;
export type DestinationRow = Selectable<Database['destinations']>;
export type BroadcastRow = Selectable<Database['broadcasts']>;
export type ApiClientRow = Selectable<Database['api_clients']>;
export type SegmentRow = Selectable<Database['segments']>;
export type SiteThemeRow = Selectable<Database['site_themes']>;
export type CallbackRow = Selectable<Database['callbacks']>;

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

  findByExternalId(tenant: string, externalId: string): Promise<AccountRow | undefined> {
    return this.db
      .selectFrom('accounts')
      .selectAll()
      .where('tenant', '=', tenant)
      .where('external_id', '=', externalId)
      .executeTakeFirst();
  }

  async updateUsername(id: string, username: string, now: string): Promise<void> {
    await this.db.updateTable('accounts').set({ username, updated_at: now }).where('id', '=', id).execute();
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

  findByPublicHostId(publicHostId: string): Promise<StreamRow | undefined> {
    return this.db
      .selectFrom('streams')
      .selectAll()
      .where('public_host_id', '=', publicHostId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
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

export class ApiClientRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['api_clients']>): Promise<void> {
    await this.db.insertInto('api_clients').values(row).execute();
  }

  findByClientId(clientId: string): Promise<ApiClientRow | undefined> {
    return this.db.selectFrom('api_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
  }

  findById(id: string): Promise<ApiClientRow | undefined> {
    return this.db.selectFrom('api_clients').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(kind: string): Promise<ApiClientRow[]> {
    return this.db.selectFrom('api_clients').selectAll().where('kind', '=', kind).orderBy('created_at').orderBy('name').execute();
  }

  async revoke(id: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_clients')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Takes `rid` as the client's last request id if it is greater than the last one; false when
   * it is not. Request ids are fixed-width decimal strings, so text order is number order, and
   * the conditional update makes concurrent requests with the same id race safely: one wins.
   */
  async advanceRequestId(id: string, rid: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_clients')
      .set({ last_rid: rid })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_rid', 'is', null), eb('last_rid', '<', rid)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}

export class SiteThemeRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['site_themes']>): Promise<void> {
    await this.db.insertInto('site_themes').values(row).execute();
  }

  list(apiClientId: string): Promise<SiteThemeRow[]> {
    return this.db.selectFrom('site_themes').selectAll().where('api_client_id', '=', apiClientId).orderBy('id').execute();
  }
}

export class CallbackRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['callbacks']>): Promise<void> {
    await this.db.insertInto('callbacks').values(row).execute();
  }

  /**
   * Callbacks not yet delivered nor given up on, due at `now`, oldest first; of the callbacks
   * with one ordering key only the first still pending, so a later one waits for the earlier.
   */
  due(now: string, limit: number): Promise<CallbackRow[]> {
    return this.db
      .selectFrom('callbacks as c')
      .selectAll('c')
      .where('c.delivered_at', 'is', null)
      .where('c.failed_at', 'is', null)
      .where('c.next_attempt_at', '<=', now)
      .where((eb) =>
        eb.or([
          eb('c.ordering_key', 'is', null),
          eb.not(
            eb.exists(
              eb
                .selectFrom('callbacks as p')
                .select('p.id')
                .whereRef('p.ordering_key', '=', 'c.ordering_key')
                .where('p.delivered_at', 'is', null)
                .where('p.failed_at', 'is', null)
                .whereRef('p.order_seq', '<', 'c.order_seq'),
            ),
          ),
        ]),
      )
      .orderBy('c.next_attempt_at')
      .orderBy('c.created_at')
      .limit(limit)
      .execute();
  }

  async delivered(id: string, at: string, attempts: number): Promise<void> {
    await this.db.updateTable('callbacks').set({ delivered_at: at, attempts, last_error: null }).where('id', '=', id).execute();
  }

  async retryLater(id: string, attempts: number, nextAttemptAt: string, error: string): Promise<void> {
    await this.db
      .updateTable('callbacks')
      .set({ attempts, next_attempt_at: nextAttemptAt, last_error: error })
      .where('id', '=', id)
      .execute();
  }

  async gaveUp(id: string, attempts: number, at: string, error: string): Promise<void> {
    await this.db.updateTable('callbacks').set({ attempts, failed_at: at, last_error: error }).where('id', '=', id).execute();
  }
}
