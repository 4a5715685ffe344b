import { sql, type Kysely } from 'kysely';

/**
 * StreamAPI: sites (API keys whose secret signs every request, so it is kept as given, not
 * hashed), sessions as streams with a numeric public host id and a private host id, the site's
 * users by their site_user_id, themes, and the outbox of callbacks to sites.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_clients').addColumn('secret', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('external_id', 'text').execute();
  await db.schema.createIndex('accounts_tenant_external').unique().on('accounts').columns(['tenant', 'external_id']).execute();
  await db.schema.alterTable('streams').addColumn('public_host_id', 'text').execute();
  await db.schema.alterTable('streams').addColumn('private_host_id', 'text').execute();
  await db.schema.alterTable('streams').addColumn('fme_key', 'text').execute();
  await db.schema.createIndex('streams_public_host_id').unique().on('streams').column('public_host_id').execute();
  await db.schema.createIndex('streams_private_host_id').unique().on('streams').column('private_host_id').execute();

  await db.schema
    .createTable('site_themes')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('api_client_id', 'text', (c) => c.notNull().references('api_clients.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('layout_path', 'text', (c) => c.notNull())
    .addColumn('skin_path', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('callbacks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'text')
    .addColumn('failed_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('callbacks_due').on('callbacks').columns(['delivered_at', 'failed_at', 'next_attempt_at']).execute();

  await sql`insert into id_sequences (name, value) values ('public_host_id', 1000000000), ('site_theme', 0)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from id_sequences where name in ('public_host_id', 'site_theme')`.execute(db);
  await db.schema.dropTable('callbacks').execute();
  await db.schema.dropTable('site_themes').execute();
  await db.schema.dropIndex('streams_private_host_id').execute();
  await db.schema.dropIndex('streams_public_host_id').execute();
  await db.schema.alterTable('streams').dropColumn('fme_key').execute();
  await db.schema.alterTable('streams').dropColumn('private_host_id').execute();
  await db.schema.alterTable('streams').dropColumn('public_host_id').execute();
  await db.schema.dropIndex('accounts_tenant_external').execute();
  await db.schema.alterTable('accounts').dropColumn('external_id').execute();
  await db.schema.alterTable('api_clients').dropColumn('secret').execute();
}
