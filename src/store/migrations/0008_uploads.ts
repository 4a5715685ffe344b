import { type Kysely } from 'kysely';

/**
 * Uploads through the S3-compatible endpoint: the temporary credentials handed to a stream's
 * uploader (no secret is kept: the secret access key is derived from the access key id with an
 * installation secret, and the session token is kept as its sha256 digest), the multipart
 * uploads in progress, and their parts (whose bytes sit in the blob store until the upload is
 * completed or aborted).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('upload_credentials')
    .addColumn('access_key_id', 'text', (c) => c.primaryKey())
    .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('session_token_digest', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('upload_credentials_stream').on('upload_credentials').columns(['stream_id']).execute();
  await db.schema.createIndex('upload_credentials_expiry').on('upload_credentials').columns(['expires_at']).execute();

  await db.schema
    .createTable('multipart_uploads')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('object_key', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text')
    .addColumn('cache_control', 'text')
    .addColumn('public_read', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('multipart_uploads_created').on('multipart_uploads').columns(['created_at']).execute();

  await db.schema
    .createTable('multipart_parts')
    .addColumn('upload_id', 'text', (c) => c.notNull().references('multipart_uploads.id').onDelete('cascade'))
    .addColumn('part_number', 'integer', (c) => c.notNull())
    .addColumn('etag', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('multipart_parts_pk', ['upload_id', 'part_number'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('multipart_parts').execute();
  await db.schema.dropTable('multipart_uploads').execute();
  await db.schema.dropTable('upload_credentials').execute();
}
