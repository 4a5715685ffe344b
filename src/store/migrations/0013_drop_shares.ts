import { type Kysely } from 'kysely';

/**
 * The first schema had a generic `shares` table that nothing ever wrote or read: the shares
 * that exist are Multistreamer's, in `stream_shares` and `network_account_shares`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('shares_account').ifExists().execute();
  await db.schema.dropTable('shares').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('shares')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('stream_id', 'text', (c) => c.references('streams.id').onDelete('cascade'))
    .addColumn('destination_id', 'text', (c) => c.references('destinations.id').onDelete('cascade'))
    .addColumn('chat_level', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('metadata_level', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('shares_account').on('shares').column('account_id').execute();
}
