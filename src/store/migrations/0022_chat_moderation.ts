import type { Kysely } from 'kysely';

/**
 * Chat moderation: who wrote each message (`chatter`: `account:<id>` or `guest:<digest of the
 * guest's chatter id>`, so a guest's posts can be counted and muted without storing the id
 * itself), the digest of the address it came from (a guest's posts are rate-limited per address
 * too), and the chatters a stream's owner muted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('chat_messages').addColumn('chatter', 'text').execute();
  await db.schema.alterTable('chat_messages').addColumn('address_digest', 'text').execute();
  await db.schema.createIndex('chat_messages_chatter').on('chat_messages').columns(['stream_id', 'chatter', 'created_at']).execute();
  await db.schema.createIndex('chat_messages_address').on('chat_messages').columns(['stream_id', 'address_digest', 'created_at']).execute();
  await db.schema
    .createTable('chat_mutes')
    .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
    .addColumn('chatter', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('chat_mutes_pk', ['stream_id', 'chatter'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('chat_mutes').execute();
  await db.schema.dropIndex('chat_messages_address').execute();
  await db.schema.dropIndex('chat_messages_chatter').execute();
  await db.schema.alterTable('chat_messages').dropColumn('address_digest').execute();
  await db.schema.alterTable('chat_messages').dropColumn('chatter').execute();
}
