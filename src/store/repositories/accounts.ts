/** Accounts, the API clients (tenant applications) and API tokens that act for them. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database } from '../schema.js';

export type AccountRow = Selectable<Database['accounts']>;
export type ApiClientRow = Selectable<Database['api_clients']>;
export type ApiTokenRow = Selectable<Database['api_tokens']>;

export class AccountRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['accounts']>): Promise<void> {
    await this.db.insertInto('accounts').values(row).execute();
  }

  findById(id: string): Promise<AccountRow | undefined> {
    return this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Locks the account's row until the transaction ends (an update that changes nothing): writes
   * that count what the account holds before adding to it take turns, across connections and nodes.
   */
  async lock(id: string): Promise<void> {
    await this.db
      .updateTable('accounts')
      .set((eb) => ({ is_active: eb.ref('is_active') }))
      .where('id', '=', id)
      .execute();
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

  /** Sets a new password and raises the credential version, so every token issued before is refused. */
  async updatePassword(id: string, passwordHash: string, now: string): Promise<void> {
    await this.db
      .updateTable('accounts')
      .set((eb) => ({ password_hash: passwordHash, updated_at: now, credential_version: eb('credential_version', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }

  /** Whether the tenant has any account at all (the dashboard's first run has none). */
  async anyIn(tenant: string): Promise<boolean> {
    return (await this.db.selectFrom('accounts').select('id').where('tenant', '=', tenant).limit(1).executeTakeFirst()) !== undefined;
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

/** API tokens, one per account (Kickfolio's `auth_token`), by digest only. */
export class ApiTokenRepository {
  constructor(private readonly db: Executor) {}

  findByDigest(digest: string): Promise<ApiTokenRow | undefined> {
    return this.db.selectFrom('api_tokens').selectAll().where('token_digest', '=', digest).executeTakeFirst();
  }

  findByAccount(accountId: string): Promise<ApiTokenRow | undefined> {
    return this.db.selectFrom('api_tokens').selectAll().where('account_id', '=', accountId).executeTakeFirst();
  }

  /** Stores the token unless the account already has one (the first writer wins); false when it had one. */
  async insertIfNone(row: ApiTokenRow): Promise<boolean> {
    const result = await this.db
      .insertInto('api_tokens')
      .values(row)
      .onConflict((oc) => oc.column('account_id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Replaces the account's token, or stores its first. */
  async replace(row: ApiTokenRow): Promise<void> {
    await this.db
      .insertInto('api_tokens')
      .values(row)
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ token_digest: row.token_digest, created_at: row.created_at }))
      .execute();
  }
}

export type LoginAttemptRow = Selectable<Database['login_attempts']>;

/**
 * Counts of recent login attempts, one row per counted key. Every change is a compare-and-set
 * on the count read before, so concurrent attempts on any node take one slot each.
 */
export class LoginAttemptRepository {
  constructor(private readonly db: Executor) {}

  find(keyDigest: string): Promise<LoginAttemptRow | undefined> {
    return this.db.selectFrom('login_attempts').selectAll().where('key_digest', '=', keyDigest).executeTakeFirst();
  }

  /** Stores the key's first attempt; false when another request stored one first. */
  async insertFirst(row: LoginAttemptRow): Promise<boolean> {
    const result = await this.db
      .insertInto('login_attempts')
      .values(row)
      .onConflict((oc) => oc.column('key_digest').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Replaces the count if it is still `expected` (nobody counted in between); false otherwise. */
  async advance(keyDigest: string, expected: number, next: Omit<LoginAttemptRow, 'key_digest'>): Promise<boolean> {
    const result = await this.db
      .updateTable('login_attempts')
      .set(next)
      .where('key_digest', '=', keyDigest)
      .where('attempts', '=', expected)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Takes one attempt back off the count (it succeeded). */
  async release(keyDigest: string): Promise<void> {
    await this.db
      .updateTable('login_attempts')
      .set((eb) => ({ attempts: eb('attempts', '-', 1) }))
      .where('key_digest', '=', keyDigest)
      .where('attempts', '>', 0)
      .execute();
  }

  async delete(keyDigest: string): Promise<void> {
    await this.db.deleteFrom('login_attempts').where('key_digest', '=', keyDigest).execute();
  }

  /** Forgets the keys whose last attempt is older than `before`. */
  async deleteIdleSince(before: string): Promise<void> {
    await this.db.deleteFrom('login_attempts').where('last_attempt_at', '<', before).execute();
  }
}
