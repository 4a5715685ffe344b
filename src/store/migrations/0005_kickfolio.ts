import { type Kysely } from 'kysely';

/**
 * Kickfolio: an API token per account (kept as issued so an operator can show it again, and
 * looked up by its sha256 digest like a stream key; a table of its own so that account rows
 * keep their shape), apps with a short public key, versions
 * whose row is also the queue of their processing job, and comments on versions.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_tokens')
    .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('token_digest', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('apps')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('apps_owner').on('apps').columns(['owner_id', 'created_at']).execute();

  await db.schema
    .createTable('app_versions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('owner_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('failure_reason', 'text')
    .addColumn('bundle_url', 'text', (c) => c.notNull())
    .addColumn('version_string', 'text')
    .addColumn('version_string_from_bundle', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('bundle_identifier', 'text')
    .addColumn('display_name', 'text')
    .addColumn('device_type', 'text')
    .addColumn('default_to_landscape', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('icon_key', 'text')
    .addColumn('default_image_key', 'text')
    .addColumn('default_image_landscape_key', 'text')
    .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('app_versions_app').on('app_versions').columns(['app_id', 'created_at']).execute();
  await db.schema.createIndex('app_versions_owner').on('app_versions').columns(['owner_id', 'created_at']).execute();
  await db.schema.createIndex('app_versions_queue').on('app_versions').columns(['state', 'created_at']).execute();

  await db.schema
    .createTable('app_comments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'text', (c) => c.notNull().references('app_versions.id').onDelete('cascade'))
    .addColumn('author_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('app_comments_version').on('app_comments').columns(['version_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('app_comments').execute();
  await db.schema.dropTable('app_versions').execute();
  await db.schema.dropTable('apps').execute();
  await db.schema.dropTable('api_tokens').execute();
}
