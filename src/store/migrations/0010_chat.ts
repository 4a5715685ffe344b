import { type Kysely } from 'kysely';

/**
 * Chat: one room per stream. `chat_rooms` holds each room's last message number; a post
 * raises it in the same transaction as it stores the message, so the row lock makes posts to
 * one room take turns on every node: numbers follow commit order, and a post's rate check sees
 * every message committed before it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('chat_rooms')
    .addColumn('stream_id', 'text', (c) => c.primaryKey().references('streams.id').onDelete('cascade'))
    .addColumn('last_id', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('chat_messages')
    .addColumn('stream_id', 'text', (c) => c.notNull().references('streams.id').onDelete('cascade'))
    .addColumn('id', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    // The account that posted it (null for injected and status messages); it counts for the rate limit.
    .addColumn('author_id', 'text', (c) => c.references('accounts.id').onDelete('set null'))
    .addColumn('from_name', 'text', (c) => c.notNull())
    .addColumn('from_picture', 'text')
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('network_icon', 'text')
    .addColumn('network_icon_css', 'text')
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('markdown', 'text')
    .addColumn('status', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('chat_messages_pk', ['stream_id', 'id'])
    .execute();
  await db.schema.createIndex('chat_messages_author').on('chat_messages').columns(['stream_id', 'author_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('chat_messages').execute();
  await db.schema.dropTable('chat_rooms').execute();
}
