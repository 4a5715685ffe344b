/** Live API access tokens: HTTP Basic credentials of an account, kept as digests. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database } from '../schema.js';

export type AccessTokenRow = Selectable<Database['access_tokens']>;

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
