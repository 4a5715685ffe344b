import { type Kysely } from 'kysely';

/**
 * Kickflip: OAuth2 access tokens of API clients (kept by digest only), the profile fields and
 * device credential (`uuid`) of a client's users, a stream's descriptive metadata and upload
 * location, and flags (one per user per stream).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('oauth_tokens')
    .addColumn('token_digest', 'text', (c) => c.primaryKey())
    .addColumn('api_client_id', 'text', (c) => c.notNull().references('api_clients.id').onDelete('cascade'))
    // The user this token last created or logged in: Android's user/change names no user.
    .addColumn('account_id', 'text', (c) => c.references('accounts.id').onDelete('set null'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('oauth_tokens_client').on('oauth_tokens').column('api_client_id').execute();

  await db.schema.alterTable('accounts').addColumn('display_name', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('extra_info', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('avatar_url', 'text').execute();
  // The credential a Kickflip client starts streams with; unique within the tenant.
  await db.schema.alterTable('accounts').addColumn('device_uuid', 'text').execute();
  await db.schema.createIndex('accounts_device_uuid').unique().on('accounts').column('device_uuid').execute();

  for (const column of ['city', 'state', 'country', 'extra_info', 'thumbnail_url', 'upload_bucket', 'upload_prefix', 'stopped_at']) {
    await db.schema.alterTable('streams').addColumn(column, 'text').execute();
  }
  await db.schema.alterTable('streams').addColumn('end_latitude', 'real').execute();
  await db.schema.alterTable('streams').addColumn('end_longitude', 'real').execute();
  await db.schema.createIndex('streams_tenant_created').on('streams').columns(['tenant', 'created_at']).execute();

  await db.schema
    .createTable('stream_flags')
    .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('stream_flags_pk', ['stream_id', 'account_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('stream_flags').execute();
  await db.schema.dropIndex('streams_tenant_created').execute();
  for (const column of ['end_longitude', 'end_latitude', 'stopped_at', 'upload_prefix', 'upload_bucket', 'thumbnail_url', 'extra_info', 'country', 'state', 'city']) {
    await db.schema.alterTable('streams').dropColumn(column).execute();
  }
  await db.schema.dropIndex('accounts_device_uuid').execute();
  for (const column of ['device_uuid', 'avatar_url', 'extra_info', 'display_name']) {
    await db.schema.alterTable('accounts').dropColumn(column).execute();
  }
  await db.schema.dropTable('oauth_tokens').execute();
}
