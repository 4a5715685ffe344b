import type { Kysely } from 'kysely';

/**
 * The media plane's state: which node holds a broadcast's publisher and whether one is
 * connected now (a broadcast stays open through its reconnect window with none), and the
 * segments that make up each broadcast's recording.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('broadcasts').addColumn('publishing', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('broadcasts').addColumn('node_id', 'text').execute();
  await db.schema
    .createTable('segments')
    .addColumn('broadcast_id', 'text', (c) => c.notNull().references('broadcasts.id').onDelete('cascade'))
    .addColumn('sequence', 'integer', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('discontinuity', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('segments_pk', ['broadcast_id', 'sequence'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('segments').execute();
  await db.schema.alterTable('broadcasts').dropColumn('node_id').execute();
  await db.schema.alterTable('broadcasts').dropColumn('publishing').execute();
}
