/** Streams: their keys, owners and what each dialect stores on the row. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database } from '../schema.js';

export type StreamRow = Selectable<Database['streams']>;

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
