/** Live API access tokens (HTTP Basic credentials of an account) and dashboard sessions, each kept as its secret's digest. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database } from '../schema.js';

export type AccessTokenRow = Selectable<Database['access_tokens']>;
export type SessionRow = Selectable<Database['sessions']>;

export class AccessTokenRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['access_tokens']>): Promise<void> {
    await this.db.insertInto('access_tokens').values(row).execute();
  }

  /** A token that has not been revoked. */
  findActive(id: string): Promise<AccessTokenRow | undefined> {
    return this.db.selectFrom('access_tokens').selectAll().where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  }

  /** Every token not revoked, of one account or of all, oldest first. */
  listActive(accountId?: string): Promise<AccessTokenRow[]> {
    let query = this.db.selectFrom('access_tokens').selectAll().where('revoked_at', 'is', null);
    if (accountId !== undefined) query = query.where('account_id', '=', accountId);
    return query.orderBy('created_at').orderBy('id').execute();
  }

  async revoke(id: string, at: string): Promise<boolean> {
    const result = await this.db.updateTable('access_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}

export class SessionRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['sessions']>): Promise<void> {
    await this.db.insertInto('sessions').values(row).execute();
  }

  /** A session that has not ended and has not expired at `now`. */
  findLive(digest: string, now: string): Promise<SessionRow | undefined> {
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('token_digest', '=', digest)
      .where('ended_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }

  async end(digest: string, at: string): Promise<void> {
    await this.db.updateTable('sessions').set({ ended_at: at }).where('token_digest', '=', digest).where('ended_at', 'is', null).execute();
  }

  /** Forgets sessions that ended or expired before `before`. */
  async deleteOver(before: string): Promise<void> {
    await this.db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<', before), eb('ended_at', '<', before)]))
      .execute();
  }
}
