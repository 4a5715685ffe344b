import { sql, type Kysely } from 'kysely';

/**
 * The Mux-compatible live API's own state, on the same streams and broadcasts every dialect uses:
 * - accounts that see every account's objects (`user create --admin`);
 * - a stream's live settings (reconnect window, longest broadcast, passthrough, latency mode,
 *   what its recordings are made with), null where the server's default holds;
 * - a destination's passthrough; a broadcast's media facts and its recording's deletion;
 * - playback ids, access tokens, URL signing keys (public halves only), webhook endpoints, the
 *   account's event log (webhooks and the event stream read it), and each delivery attempt.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('accounts').addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  for (const [name, type] of [
    ['passthrough', 'text'],
    ['reconnect_window', 'real'],
    ['max_continuous_duration', 'integer'],
    ['latency_mode', 'text'],
    ['audio_only', 'integer'],
    ['test', 'integer'],
    ['new_asset_settings', 'text'],
  ] as const) {
    await db.schema.alterTable('streams').addColumn(name, type).execute();
  }
  await db.schema.alterTable('destinations').addColumn('passthrough', 'text').execute();
  for (const [name, type] of [
    ['deleted_at', 'text'],
    ['recorded_at', 'text'],
    ['video_width', 'integer'],
    ['video_height', 'integer'],
    ['frame_rate', 'real'],
  ] as const) {
    await db.schema.alterTable('broadcasts').addColumn(name, type).execute();
  }

  await db.schema
    .createTable('playback_ids')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('stream_id', 'text')
    .addColumn('broadcast_id', 'text')
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('playback_ids_stream').on('playback_ids').column('stream_id').execute();
  await db.schema.createIndex('playback_ids_broadcast').on('playback_ids').column('broadcast_id').execute();

  await db.schema
    .createTable('access_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('secret_digest', 'text', (c) => c.notNull())
    .addColumn('permission', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();

  await db.schema
    .createTable('signing_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('events', 'text')
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_endpoints_account').on('webhook_endpoints').column('account_id').execute();

  await db.schema
    .createTable('live_events')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('live_events_account').on('live_events').columns(['account_id', 'seq']).execute();
  await sql`insert into id_sequences (name, value) values ('live_event', 0)`.execute(db);

  // Which endpoint a callback delivers to, and how it is signed (Mux's `mux-signature`).
  await db.schema.alterTable('callbacks').addColumn('endpoint_id', 'text').execute();
  await db.schema.alterTable('callbacks').addColumn('signature_scheme', 'text').execute();
  await db.schema.createIndex('callbacks_endpoint').on('callbacks').column('endpoint_id').execute();
  await db.schema
    .createTable('callback_attempts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('callback_id', 'text', (c) => c.notNull())
    .addColumn('endpoint_id', 'text')
    .addColumn('status_code', 'integer')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('callback_attempts_endpoint').on('callback_attempts').columns(['endpoint_id', 'at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from id_sequences where name = 'live_event'`.execute(db);
  for (const table of ['callback_attempts', 'live_events', 'webhook_endpoints', 'signing_keys', 'access_tokens', 'playback_ids']) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.dropIndex('callbacks_endpoint').execute();
  await db.schema.alterTable('callbacks').dropColumn('signature_scheme').execute();
  await db.schema.alterTable('callbacks').dropColumn('endpoint_id').execute();
  for (const name of ['frame_rate', 'video_height', 'video_width', 'recorded_at', 'deleted_at']) await db.schema.alterTable('broadcasts').dropColumn(name).execute();
  await db.schema.alterTable('destinations').dropColumn('passthrough').execute();
  for (const name of ['new_asset_settings', 'test', 'audio_only', 'latency_mode', 'max_continuous_duration', 'reconnect_window', 'passthrough']) {
    await db.schema.alterTable('streams').dropColumn(name).execute();
  }
  await db.schema.alterTable('accounts').dropColumn('is_admin').execute();
}
