import { type Kysely } from 'kysely';

/**
 * Segment uploads (Kickflip): every object a broadcaster uploaded, with what an S3 GET answers
 * about it (its bytes live in the blob store), and the broadcast each stream's uploads feed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('upload_objects')
    // The object's key in the upload bucket: '<prefix><name>'.
    .addColumn('bucket_key', 'text', (c) => c.primaryKey())
    .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('cache_control', 'text')
    .addColumn('etag', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('public_read', 'integer', (c) => c.notNull())
    .addColumn('last_modified', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('upload_objects_stream_name').on('upload_objects').columns(['stream_id', 'name']).execute();

  await db.schema
    .createTable('upload_broadcasts')
    .addColumn('stream_id', 'text', (c) => c.primaryKey().references('streams.id').onDelete('cascade'))
    .addColumn('broadcast_id', 'text', (c) => c.notNull().references('broadcasts.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('upload_broadcasts').execute();
  await db.schema.dropTable('upload_objects').execute();
}
