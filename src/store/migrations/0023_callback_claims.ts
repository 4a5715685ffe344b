import type { Kysely } from 'kysely';

/**
 * A claim on each callback in the outbox: the node about to deliver it holds it until
 * `claimed_until`, so that nodes sharing one database deliver each callback once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('callbacks').addColumn('claimed_until', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('callbacks').dropColumn('claimed_until').execute();
}
