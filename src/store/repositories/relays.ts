/** Destinations: where a stream is relayed. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database } from '../schema.js';

export type DestinationRow = Selectable<Database['destinations']>;

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
