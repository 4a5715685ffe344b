/**
 * Migrations on every database: the schema they build is the one the code reads, the unused
 * `shares` table of the first schema is gone after 0013 and comes back when 0013 is undone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Migrator, sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { Store } from '../../src/store/store.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';

async function tables(store: Store): Promise<string[]> {
  const query =
    store.kind === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where type = 'table'`
      : sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`;
  return (await query.execute(store.db)).rows.map((r) => r.name).sort();
}

for (const kind of databaseKinds()) {
  describe(`migrations (${kind})`, () => {
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

    it('drop the unused shares table, and bring it back when 0013 is undone', async () => {
      await store.migrate();
      const migrated = await tables(store);
      assert.ok(!migrated.includes('shares'), migrated.join(', '));
      for (const kept of ['stream_shares', 'network_account_shares', 'accounts', 'streams']) assert.ok(migrated.includes(kept), kept);

      const schema = kind === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(store.db)).rows[0]!.s : undefined;
      const migrator = new Migrator({ db: store.db, provider: migrationProvider, ...(schema ? { migrationTableSchema: schema } : {}) });
      const down = await migrator.migrateTo('0012_upload_objects');
      assert.equal(down.error, undefined);
      assert.ok(down.results?.some((r) => r.migrationName === '0013_drop_shares' && r.direction === 'Down' && r.status === 'Success'));
      assert.ok((await tables(store)).includes('shares'));

      assert.ok((await store.migrate()).applied.includes('0013_drop_shares'));
      assert.deepEqual(await tables(store), migrated);
    });
  });
}
