import { type Kysely } from 'kysely';

/**
 * Credentials die with a password change: every account has a credential version, raised by each
 * change of its password, and each token that acts for an account records the version it was
 * issued under (rig's JWTs carry it as a claim). A token of an older version is refused.
 * Existing accounts and tokens start at version 0, so they keep working until the next change.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('accounts').addColumn('credential_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  // The version the Multistreamer token was made under; /auth makes a new token after a change.
  await db.schema.alterTable('ms_users').addColumn('credential_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  // The version of the user a Kickflip access token acts for (its account_id).
  await db.schema.alterTable('oauth_tokens').addColumn('account_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('oauth_tokens').dropColumn('account_version').execute();
  await db.schema.alterTable('ms_users').dropColumn('credential_version').execute();
  await db.schema.alterTable('accounts').dropColumn('credential_version').execute();
}
