/**
 * The migrations of issue 14's credential rules keep every credential in use working: tokens
 * made before credential versions existed are of version 0, like their accounts, and the API
 * tokens kept as issued are reduced to their digests, which still find their accounts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { Core } from '../../src/core/core.js';
import { DEFAULT_INGEST_SERVERS } from '../../src/core/relays/destinations.js';
import { newApiToken } from '../../src/core/accounts/api-tokens.js';
import { newAccessToken } from '../../src/core/dialects/multistreamer/access-tokens.js';
import { secretDigest } from '../../src/core/kernel/ids.js';
import type { DomainEvent } from '../../src/core/kernel/events.js';
import { LocalBlobStore } from '../../src/blob/local.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { Store } from '../../src/store/store.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { migratorOf } from './support.js';

async function columns(store: Store, table: string): Promise<string[]> {
  const query =
    store.kind === 'sqlite'
      ? sql<{ name: string }>`select name from pragma_table_info(${table})`
      : sql<{ name: string }>`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ${table}`;
  return (await query.execute(store.db)).rows.map((r) => r.name).sort();
}

for (const kind of databaseKinds()) {
  describe(`credential migrations (${kind})`, () => {
    let database: TestDatabase;
    let store: Store;

    before(async () => {
      database = await createTestDatabase(kind);
      store = Store.open(loadConfig({ databaseUrl: database.url }, {}).database);
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    it('keep API tokens and Multistreamer tokens of an older installation working, the API tokens as digests only', async () => {
      const migrator = await migratorOf(store);
      assert.equal((await migrator.migrateTo('0013_drop_shares')).error, undefined);

      const now = new Date().toISOString();
      const accountId = '0b7a5d8e-5a57-4b7c-9d43-6c1de3b1e0a1';
      const apiToken = newApiToken();
      const msToken = newAccessToken();
      await sql`insert into accounts (id, tenant, username, email, email_key, password_hash, is_active, created_at, updated_at) values (${accountId}, '', 'veteran', null, null, null, 1, ${now}, ${now})`.execute(store.db);
      await sql`insert into api_tokens (account_id, token, token_digest, created_at) values (${accountId}, ${apiToken}, ${secretDigest(apiToken)}, ${now})`.execute(store.db);
      await sql`insert into ms_users (account_id, number, access_token, token_digest, created_at) values (${accountId}, 1, ${msToken}, ${secretDigest(msToken)}, ${now})`.execute(store.db);

      const applied = (await store.migrate()).applied;
      for (const name of ['0014_credential_versions', '0016_api_token_digests']) assert.ok(applied.includes(name), name);
      assert.deepEqual(await columns(store, 'api_tokens'), ['account_id', 'created_at', 'token_digest']);
      const rows = await store.db.selectFrom('api_tokens').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(apiToken), 'no copy of the token is left');

      const core = new Core(
        { store, bus: new MemoryBus<DomainEvent>(), now: () => new Date().toISOString(), onBackgroundError: (err) => assert.fail(String(err)) },
        { ingestServers: DEFAULT_INGEST_SERVERS, blobs: new LocalBlobStore('unused') },
      );
      assert.equal((await core.apiTokens.accountFor(apiToken))?.username, 'veteran');
      assert.equal(await core.accessTokens.accountOf(msToken), accountId);
      assert.equal((await core.accounts.get(accountId))?.credentialVersion, 0);
    });
  });
}
