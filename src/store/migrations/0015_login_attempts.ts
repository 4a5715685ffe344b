import { type Kysely } from 'kysely';

/**
 * Login attempts, counted in the database so that every node of a cluster sees the same counts:
 * one row per account name (of a tenant) and per client address that recently tried a password,
 * found by the sha256 of what it counts (no address or name is stored as such).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('login_attempts')
    .addColumn('key_digest', 'text', (c) => c.primaryKey())
    // Attempts since the count last started, a success excepted.
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('last_attempt_at', 'text', (c) => c.notNull())
    // No attempt is considered before this time.
    .addColumn('next_allowed_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('login_attempts_last').on('login_attempts').column('last_attempt_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('login_attempts').execute();
}
