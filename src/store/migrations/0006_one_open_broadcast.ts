import { sql, type Kysely } from 'kysely';

/**
 * At most one open broadcast per stream, enforced by the database: two encoders racing to
 * publish the same key on PostgreSQL could otherwise both see "none open" and both insert.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('broadcasts_one_open')
    .unique()
    .on('broadcasts')
    .column('stream_id')
    .where(sql.ref('ended_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('broadcasts_one_open').execute();
}
