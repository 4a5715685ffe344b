/** Multistreamer's tables: users' integer ids and tokens, streams, network accounts and their shares, stream webhooks. */
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Executor } from '../../database.js';
import type { Database } from '../../schema.js';

export type MsUserRow = Selectable<Database['ms_users']>;
export type MsStreamRow = Selectable<Database['ms_streams']>;
export type NetworkAccountRow = Selectable<Database['network_accounts']>;
export type StreamAccountRow = Selectable<Database['stream_accounts']>;
export type WebhookRow = Selectable<Database['webhooks']>;

/** A platform account with its Multistreamer id. */
export interface MsUserListing {
  account_id: string;
  number: number;
  username: string;
}

export class MsUserRepository {
  constructor(private readonly db: Executor) {}

  /** Stores the row unless the account has one already; the first writer wins. */
  async insertIfNone(row: Insertable<Database['ms_users']>): Promise<void> {
    await this.db
      .insertInto('ms_users')
      .values(row)
      .onConflict((oc) => oc.column('account_id').doNothing())
      .execute();
  }

  findByAccount(accountId: string): Promise<MsUserRow | undefined> {
    return this.db.selectFrom('ms_users').selectAll().where('account_id', '=', accountId).executeTakeFirst();
  }

  findByDigest(digest: string): Promise<MsUserRow | undefined> {
    return this.db.selectFrom('ms_users').selectAll().where('token_digest', '=', digest).executeTakeFirst();
  }

  /**
   * Replaces the account's token with one made under `credentialVersion`, unless another request
   * has replaced it since it was read under `previousVersion`: the first writer wins.
   */
  async replaceToken(accountId: string, previousVersion: number, token: { access_token: string; token_digest: string; credential_version: number }): Promise<void> {
    await this.db
      .updateTable('ms_users')
      .set(token)
      .where('account_id', '=', accountId)
      .where('credential_version', '=', previousVersion)
      .execute();
  }

  /** The platform user with this Multistreamer id. */
  findByNumber(number: number): Promise<MsUserListing | undefined> {
    return this.db
      .selectFrom('ms_users')
      .innerJoin('accounts', 'accounts.id', 'ms_users.account_id')
      .select(['ms_users.account_id', 'ms_users.number', 'accounts.username'])
      .where('ms_users.number', '=', number)
      .where('accounts.is_active', '=', 1)
      .executeTakeFirst();
  }

  /** Active platform accounts that have no Multistreamer id yet. */
  async accountsWithout(tenant: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .leftJoin('ms_users', 'ms_users.account_id', 'accounts.id')
      .select('accounts.id')
      .where('accounts.tenant', '=', tenant)
      .where('accounts.is_active', '=', 1)
      .where('ms_users.account_id', 'is', null)
      .orderBy('accounts.created_at')
      .orderBy('accounts.id')
      .execute();
    return rows.map((r) => r.id);
  }

  list(tenant: string): Promise<MsUserListing[]> {
    return this.db
      .selectFrom('ms_users')
      .innerJoin('accounts', 'accounts.id', 'ms_users.account_id')
      .select(['ms_users.account_id', 'ms_users.number', 'accounts.username'])
      .where('accounts.tenant', '=', tenant)
      .where('accounts.is_active', '=', 1)
      .orderBy('ms_users.number')
      .execute();
  }

  /** Usernames and Multistreamer ids of the given accounts. */
  async byAccounts(accountIds: readonly string[]): Promise<Map<string, MsUserListing>> {
    const out = new Map<string, MsUserListing>();
    if (accountIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('ms_users')
      .innerJoin('accounts', 'accounts.id', 'ms_users.account_id')
      .select(['ms_users.account_id', 'ms_users.number', 'accounts.username'])
      .where('ms_users.account_id', 'in', [...new Set(accountIds)])
      .execute();
    for (const row of rows) out.set(row.account_id, { ...row, number: Number(row.number) });
    return out;
  }
}

export class MsStreamRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['ms_streams']>): Promise<void> {
    await this.db.insertInto('ms_streams').values(row).execute();
  }

  findByStream(streamId: string): Promise<MsStreamRow | undefined> {
    return this.db.selectFrom('ms_streams').selectAll().where('stream_id', '=', streamId).executeTakeFirst();
  }

  findByNumber(number: number): Promise<MsStreamRow | undefined> {
    return this.db.selectFrom('ms_streams').selectAll().where('number', '=', number).executeTakeFirst();
  }

  findBySlug(ownerId: string, slug: string): Promise<MsStreamRow | undefined> {
    return this.db
      .selectFrom('ms_streams')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('slug', '=', slug)
      .executeTakeFirst();
  }

  async update(streamId: string, changes: Updateable<Database['ms_streams']>): Promise<void> {
    await this.db.updateTable('ms_streams').set(changes).where('stream_id', '=', streamId).execute();
  }

  async delete(streamId: string): Promise<void> {
    await this.db.deleteFrom('ms_streams').where('stream_id', '=', streamId).execute();
  }

  /** The streams `userId` owns, then those shared with them (levels not both 0), by id. */
  async visibleTo(userId: string): Promise<MsStreamRow[]> {
    const owned = await this.db.selectFrom('ms_streams').selectAll().where('owner_id', '=', userId).orderBy('number').execute();
    const shared = await this.db
      .selectFrom('ms_streams')
      .innerJoin('stream_shares', 'stream_shares.stream_id', 'ms_streams.stream_id')
      .selectAll('ms_streams')
      .where('stream_shares.user_id', '=', userId)
      .where((eb) => eb.or([eb('stream_shares.chat_level', '>', 0), eb('stream_shares.metadata_level', '>', 0)]))
      .orderBy('ms_streams.number')
      .execute();
    return [...owned, ...shared];
  }

  /** The title and description Multistreamer keeps on the platform stream. */
  async updateStreamText(streamId: string, changes: { title?: string | null; description?: string | null }, now: string): Promise<void> {
    await this.db.updateTable('streams').set({ ...changes, updated_at: now }).where('id', '=', streamId).execute();
  }

  /** Marks the platform stream deleted: it stops taking publishers and vanishes from every API. */
  async markStreamDeleted(streamId: string, now: string): Promise<void> {
    await this.db.updateTable('streams').set({ deleted_at: now, updated_at: now }).where('id', '=', streamId).execute();
  }
}

export class NetworkAccountRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['network_accounts']>): Promise<void> {
    await this.db.insertInto('network_accounts').values(row).execute();
  }

  findById(id: number): Promise<NetworkAccountRow | undefined> {
    return this.db.selectFrom('network_accounts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findBySlug(ownerId: string, slug: string): Promise<NetworkAccountRow | undefined> {
    return this.db
      .selectFrom('network_accounts')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('slug', '=', slug)
      .executeTakeFirst();
  }

  async update(id: number, changes: Updateable<Database['network_accounts']>): Promise<void> {
    await this.db.updateTable('network_accounts').set(changes).where('id', '=', id).execute();
  }

  async delete(id: number): Promise<void> {
    await this.db.deleteFrom('network_accounts').where('id', '=', id).execute();
  }

  /** Accounts `userId` owns, then those shared with them, by id. */
  async visibleTo(userId: string): Promise<NetworkAccountRow[]> {
    const owned = await this.db.selectFrom('network_accounts').selectAll().where('owner_id', '=', userId).orderBy('id').execute();
    const shared = await this.db
      .selectFrom('network_accounts')
      .innerJoin('network_account_shares', 'network_account_shares.network_account_id', 'network_accounts.id')
      .selectAll('network_accounts')
      .where('network_account_shares.user_id', '=', userId)
      .orderBy('network_accounts.id')
      .execute();
    return [...owned, ...shared];
  }

  async isSharedWith(id: number, userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('network_account_shares')
      .select('user_id')
      .where('network_account_id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async sharesOf(id: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('network_account_shares')
      .select('user_id')
      .where('network_account_id', '=', id)
      .orderBy('created_at')
      .orderBy('user_id')
      .execute();
    return rows.map((r) => r.user_id);
  }

  async addShare(id: number, userId: string, now: string): Promise<void> {
    await this.db
      .insertInto('network_account_shares')
      .values({ network_account_id: id, user_id: userId, created_at: now })
      .onConflict((oc) => oc.columns(['network_account_id', 'user_id']).doNothing())
      .execute();
  }

  async removeShare(id: number, userId: string): Promise<void> {
    await this.db.deleteFrom('network_account_shares').where('network_account_id', '=', id).where('user_id', '=', userId).execute();
  }
}

export class StreamAccountRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['stream_accounts']>): Promise<void> {
    await this.db.insertInto('stream_accounts').values(row).execute();
  }

  listByStream(streamId: string): Promise<StreamAccountRow[]> {
    return this.db
      .selectFrom('stream_accounts')
      .selectAll()
      .where('stream_id', '=', streamId)
      .orderBy('network_account_id')
      .execute();
  }

  listByAccount(accountId: number): Promise<StreamAccountRow[]> {
    return this.db.selectFrom('stream_accounts').selectAll().where('network_account_id', '=', accountId).execute();
  }

  async update(streamId: string, accountId: number, changes: Updateable<Database['stream_accounts']>): Promise<void> {
    await this.db
      .updateTable('stream_accounts')
      .set(changes)
      .where('stream_id', '=', streamId)
      .where('network_account_id', '=', accountId)
      .execute();
  }

  async delete(streamId: string, accountId: number): Promise<void> {
    await this.db.deleteFrom('stream_accounts').where('stream_id', '=', streamId).where('network_account_id', '=', accountId).execute();
  }

  /** Points the attachment's relay at a new target (the account's URL or arguments changed). */
  async updateDestination(destinationId: string, streamKey: string, ffmpegArgs: string | null): Promise<void> {
    await this.db.updateTable('destinations').set({ stream_key: streamKey, ffmpeg_args: ffmpegArgs }).where('id', '=', destinationId).execute();
  }
}

export class WebhookRepository {
  constructor(private readonly db: Executor) {}

  listByStream(streamId: string): Promise<WebhookRow[]> {
    return this.db.selectFrom('webhooks').selectAll().where('stream_id', '=', streamId).orderBy('position').execute();
  }

  async deleteByStream(streamId: string): Promise<void> {
    await this.db.deleteFrom('webhooks').where('stream_id', '=', streamId).execute();
  }

  /** How many webhooks the account's streams have, the stream `exceptStreamId` left out. */
  async countByOwner(ownerId: string, exceptStreamId: string): Promise<number> {
    const row = await this.db
      .selectFrom('webhooks')
      .innerJoin('streams', 'streams.id', 'webhooks.stream_id')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('streams.owner_id', '=', ownerId)
      .where('streams.deleted_at', 'is', null)
      .where('webhooks.stream_id', '!=', exceptStreamId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(row: Insertable<Database['webhooks']>): Promise<void> {
    await this.db.insertInto('webhooks').values(row).execute();
  }
}
