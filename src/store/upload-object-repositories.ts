import type { Insertable, Selectable } from 'kysely';
import type { Executor } from './repositories.js';
import type { Database } from './schema.js';

export type UploadObjectRow = Selectable<Database['upload_objects']>;
export type UploadBroadcastRow = Selectable<Database['upload_broadcasts']>;

/** Objects broadcasters uploaded: what a GET of their bucket key answers, and where their bytes are. */
export class UploadObjectRepository {
  constructor(private readonly db: Executor) {}

  /** Stores the object's description, replacing the one of an earlier upload of the same key. */
  async upsert(row: Insertable<Database['upload_objects']>): Promise<void> {
    const { bucket_key: _key, ...changes } = row;
    await this.db
      .insertInto('upload_objects')
      .values(row)
      .onConflict((oc) => oc.column('bucket_key').doUpdateSet(changes))
      .execute();
  }

  findByBucketKey(bucketKey: string): Promise<UploadObjectRow | undefined> {
    return this.db.selectFrom('upload_objects').selectAll().where('bucket_key', '=', bucketKey).executeTakeFirst();
  }

  /** The latest upload named `name` of the stream (one per name unless its prefix changed). */
  findByName(streamId: string, name: string): Promise<UploadObjectRow | undefined> {
    return this.db
      .selectFrom('upload_objects')
      .selectAll()
      .where('stream_id', '=', streamId)
      .where('name', '=', name)
      .orderBy('last_modified', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  listByNames(streamId: string, names: readonly string[]): Promise<UploadObjectRow[]> {
    if (names.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('upload_objects').selectAll().where('stream_id', '=', streamId).where('name', 'in', names).execute();
  }
}

/** Which broadcast each stream's uploads feed. */
export class UploadBroadcastRepository {
  constructor(private readonly db: Executor) {}

  findByStream(streamId: string): Promise<UploadBroadcastRow | undefined> {
    return this.db.selectFrom('upload_broadcasts').selectAll().where('stream_id', '=', streamId).executeTakeFirst();
  }

  /** Records the stream's upload broadcast unless it has one already (the first writer wins). */
  async insertIfNone(row: UploadBroadcastRow): Promise<void> {
    await this.db
      .insertInto('upload_broadcasts')
      .values(row)
      .onConflict((oc) => oc.column('stream_id').doNothing())
      .execute();
  }
}
