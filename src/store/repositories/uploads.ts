/** Uploads: temporary credentials, multipart uploads and their parts, uploaded objects, and the broadcast uploads feed. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database } from '../schema.js';

export type UploadCredentialRow = Selectable<Database['upload_credentials']>;
export type MultipartUploadRow = Selectable<Database['multipart_uploads']>;
export type MultipartPartRow = Selectable<Database['multipart_parts']>;
export type UploadObjectRow = Selectable<Database['upload_objects']>;
export type UploadBroadcastRow = Selectable<Database['upload_broadcasts']>;

/** Temporary S3 credentials of stream uploaders. */
export class UploadCredentialRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['upload_credentials']>): Promise<void> {
    await this.db.insertInto('upload_credentials').values(row).execute();
  }

  findByAccessKeyId(accessKeyId: string): Promise<UploadCredentialRow | undefined> {
    return this.db.selectFrom('upload_credentials').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
  }

  /** Moves the expiry of every credential of the stream to `at`, unless it already ends sooner. */
  async capExpiry(streamId: string, at: string): Promise<void> {
    await this.db.updateTable('upload_credentials').set({ expires_at: at }).where('stream_id', '=', streamId).where('expires_at', '>', at).execute();
  }

  /** Forgets credentials that ended before `before`. */
  async deleteExpiredBefore(before: string): Promise<void> {
    await this.db.deleteFrom('upload_credentials').where('expires_at', '<', before).execute();
  }
}

/** Multipart uploads in progress and their parts. */
export class MultipartUploadRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['multipart_uploads']>): Promise<void> {
    await this.db.insertInto('multipart_uploads').values(row).execute();
  }

  findById(id: string): Promise<MultipartUploadRow | undefined> {
    return this.db.selectFrom('multipart_uploads').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Uploads begun before `before` (abandoned ones, for clean-up). */
  listCreatedBefore(before: string, limit: number): Promise<MultipartUploadRow[]> {
    return this.db.selectFrom('multipart_uploads').selectAll().where('created_at', '<', before).orderBy('created_at').limit(limit).execute();
  }

  /** Removes the upload and its part rows; true if it was there. */
  async delete(id: string): Promise<boolean> {
    await this.db.deleteFrom('multipart_parts').where('upload_id', '=', id).execute();
    const result = await this.db.deleteFrom('multipart_uploads').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Records a part, replacing an earlier upload of the same part number; returns the replaced row. */
  async putPart(row: MultipartPartRow): Promise<MultipartPartRow | undefined> {
    const previous = await this.db
      .selectFrom('multipart_parts')
      .selectAll()
      .where('upload_id', '=', row.upload_id)
      .where('part_number', '=', row.part_number)
      .executeTakeFirst();
    if (previous) {
      await this.db
        .updateTable('multipart_parts')
        .set({ etag: row.etag, size: row.size, blob_key: row.blob_key, created_at: row.created_at })
        .where('upload_id', '=', row.upload_id)
        .where('part_number', '=', row.part_number)
        .execute();
    } else {
      await this.db.insertInto('multipart_parts').values(row).execute();
    }
    return previous;
  }

  parts(uploadId: string): Promise<MultipartPartRow[]> {
    return this.db.selectFrom('multipart_parts').selectAll().where('upload_id', '=', uploadId).orderBy('part_number').execute();
  }
}

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
