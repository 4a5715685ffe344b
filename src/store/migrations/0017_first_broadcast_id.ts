import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

/**
 * `streams.first_broadcast_id`: the id a stream's first broadcast takes, chosen when the stream
 * is made, so that a URL naming that broadcast can be handed out before it starts (Kickflip's
 * `stream_url`, which must keep playing the broadcast after it ended). Kickflip streams made
 * before get the id of their first broadcast, or a fresh one for the broadcast still to come.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('streams').addColumn('first_broadcast_id', 'text').execute();
  const kickflip = await sql<{ id: string; first: string | null }>`
    select s.id as id,
      (select b.id from broadcasts b where b.stream_id = s.id order by b.started_at, b.id limit 1) as first
    from streams s
    where s.upload_prefix is not null`.execute(db);
  for (const row of kickflip.rows) {
    await sql`update streams set first_broadcast_id = ${row.first ?? randomUUID()} where id = ${row.id}`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('streams').dropColumn('first_broadcast_id').execute();
}
