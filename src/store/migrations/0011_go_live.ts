import { sql, type Kysely } from 'kysely';

/**
 * Go-live control, pullers and per-stream webhooks. Live state is in the database, not in a
 * node's memory, so that any node can answer "is it pushing?" and switch it:
 * - `streams.pushing`: the relays of the stream's open broadcast are on (0 during a preview,
 *   and whenever no broadcast is open);
 * - `streams.pulling` / `streams.pull_node`: a puller feeds the stream, run by that node;
 * - `webhooks`: a stream's webhooks, each with the secret its deliveries are signed with;
 * - the callback outbox learns JSON bodies, signing and ordering: `content_type`, `headers`
 *   (a JSON object), `signing_secret`, and `ordering_key` + `order_seq` (a callback waits
 *   until every earlier one with its key was delivered or given up).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('streams').addColumn('pushing', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('streams').addColumn('pulling', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('streams').addColumn('pull_node', 'text').execute();

  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('notes', 'text')
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhooks_stream').on('webhooks').columns(['stream_id', 'position']).execute();

  await db.schema.alterTable('callbacks').addColumn('content_type', 'text').execute();
  await db.schema.alterTable('callbacks').addColumn('headers', 'text').execute();
  await db.schema.alterTable('callbacks').addColumn('signing_secret', 'text').execute();
  await db.schema.alterTable('callbacks').addColumn('ordering_key', 'text').execute();
  await db.schema.alterTable('callbacks').addColumn('order_seq', 'integer').execute();
  await db.schema.createIndex('callbacks_ordering').on('callbacks').columns(['ordering_key', 'order_seq']).execute();

  await sql`insert into id_sequences (name, value) values ('webhook', 0), ('callback_order', 0)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from id_sequences where name in ('webhook', 'callback_order')`.execute(db);
  await db.schema.dropIndex('callbacks_ordering').execute();
  for (const column of ['order_seq', 'ordering_key', 'signing_secret', 'headers', 'content_type']) {
    await db.schema.alterTable('callbacks').dropColumn(column).execute();
  }
  await db.schema.dropIndex('webhooks_stream').execute();
  await db.schema.dropTable('webhooks').execute();
  await db.schema.alterTable('streams').dropColumn('pull_node').execute();
  await db.schema.alterTable('streams').dropColumn('pulling').execute();
  await db.schema.alterTable('streams').dropColumn('pushing').execute();
}
