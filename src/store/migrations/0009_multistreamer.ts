import { sql, type Kysely } from 'kysely';

/**
 * Multistreamer: its users' integer ids and access tokens, the stream fields only its dialect
 * has (integer id, name, slug, preview, puller), network accounts (Twitch, YouTube, custom RTMP)
 * with their shares, the accounts attached to each stream with per-stream settings (each
 * attachment is also a row of `destinations`, which the relay engine reads), and stream shares
 * with chat and metadata levels.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ms_users')
    .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('number', 'integer', (c) => c.notNull().unique())
    .addColumn('access_token', 'text', (c) => c.notNull())
    .addColumn('token_digest', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('ms_streams')
    .addColumn('stream_id', 'text', (c) => c.primaryKey().references('streams.id').onDelete('cascade'))
    .addColumn('number', 'integer', (c) => c.notNull().unique())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('slug', 'text', (c) => c.notNull())
    .addColumn('preview_required', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('ffmpeg_pull_args', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('ms_streams_owner_slug', ['owner_id', 'slug'])
    .execute();

  await db.schema
    .createTable('network_accounts')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('slug', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('ffmpeg_args', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('network_accounts_owner_slug', ['owner_id', 'slug'])
    .execute();

  await db.schema
    .createTable('network_account_shares')
    .addColumn('network_account_id', 'integer', (c) => c.notNull().references('network_accounts.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('network_account_shares_pk', ['network_account_id', 'user_id'])
    .execute();
  await db.schema.createIndex('network_account_shares_user').on('network_account_shares').column('user_id').execute();

  await db.schema
    .createTable('stream_accounts')
    .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
    .addColumn('network_account_id', 'integer', (c) => c.notNull().references('network_accounts.id').onDelete('cascade'))
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('ffmpeg_args', 'text')
    // The relay this attachment is: kept in step with the account and the attachment.
    .addColumn('destination_id', 'text', (c) => c.notNull().references('destinations.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('stream_accounts_pk', ['stream_id', 'network_account_id'])
    .execute();
  await db.schema.createIndex('stream_accounts_account').on('stream_accounts').column('network_account_id').execute();

  await db.schema
    .createTable('stream_shares')
    .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('chat_level', 'integer', (c) => c.notNull())
    .addColumn('metadata_level', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('stream_shares_pk', ['stream_id', 'user_id'])
    .execute();
  await db.schema.createIndex('stream_shares_user').on('stream_shares').column('user_id').execute();

  await sql`insert into id_sequences (name, value) values ('ms_user', 0), ('ms_stream', 0), ('network_account', 0)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from id_sequences where name in ('ms_user', 'ms_stream', 'network_account')`.execute(db);
  for (const table of ['stream_shares', 'stream_accounts', 'network_account_shares', 'network_accounts', 'ms_streams', 'ms_users']) {
    await db.schema.dropTable(table).execute();
  }
}
