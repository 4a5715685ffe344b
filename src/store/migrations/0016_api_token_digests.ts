import { sql, type Kysely } from 'kysely';

/**
 * API tokens (Kickfolio's `auth_token`) are kept only as their sha256 digests: the server never
 * needs to show a token again once it has been handed out, only to check it. The digests are
 * already there, so every token in use keeps working; the copies as issued are dropped.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_tokens').dropColumn('token').execute();
}

/** The tokens cannot come back: a rolled-back installation shows an empty token until one is rotated. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_tokens').addColumn('token', 'text', (c) => c.notNull().defaultTo(sql`''`)).execute();
}
