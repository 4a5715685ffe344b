/** StreamAPI's tables: site themes. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../../database.js';
import type { Database } from '../../schema.js';

export type SiteThemeRow = Selectable<Database['site_themes']>;

export class SiteThemeRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['site_themes']>): Promise<void> {
    await this.db.insertInto('site_themes').values(row).execute();
  }

  list(apiClientId: string): Promise<SiteThemeRow[]> {
    return this.db.selectFrom('site_themes').selectAll().where('api_client_id', '=', apiClientId).orderBy('id').execute();
  }
}
