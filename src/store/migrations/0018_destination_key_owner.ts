import { sql, type Kysely } from 'kysely';

/**
 * `destinations.key_owner_id`: whose secret a destination's key is when the destination stands
 * for a network account (Multistreamer), which may belong to someone other than the stream's
 * owner (an account shared with them, or attached by a sharee); null: the stream owner's own.
 * The key is then shown to that person only. Existing attachments get their account's owner.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('destinations').addColumn('key_owner_id', 'text').execute();
  await sql`update destinations set key_owner_id = (
      select na.owner_id from stream_accounts sa
      join network_accounts na on na.id = sa.network_account_id
      where sa.destination_id = destinations.id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('destinations').dropColumn('key_owner_id').execute();
}
