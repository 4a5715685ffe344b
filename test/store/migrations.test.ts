/**
 * Migrations on every database: the schema they build is the one the code reads, the unused
 * `shares` table of the first schema is gone after 0013 and comes back when 0013 is undone; later
 * migrations carry the rows they find along.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { Store } from '../../src/store/store.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { migratorOf } from './support.js';

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

      const migrator = await migratorOf(store);
      const down = await migrator.migrateTo('0012_upload_objects');
      assert.equal(down.error, undefined);
      assert.ok(down.results?.some((r) => r.migrationName === '0013_drop_shares' && r.direction === 'Down' && r.status === 'Success'));
      assert.ok((await tables(store)).includes('shares'));

      assert.ok((await store.migrate()).applied.includes('0013_drop_shares'));
      assert.deepEqual(await tables(store), migrated);
    });

    it('0017 gives each Kickflip stream made before it the id of its first broadcast, or a fresh one for the broadcast to come', async () => {
      await store.migrate();
      const migrator = await migratorOf(store);
      assert.equal((await migrator.migrateTo('0013_drop_shares')).error, undefined);
      const t = '2024-01-01T00:00:00.000Z';
      await sql`insert into accounts (id, tenant, username, created_at, updated_at) values ('a1', '', 'm0017', ${t}, ${t})`.execute(store.db);
      const stream = (id: string, prefix: string | null) =>
        sql`insert into streams (id, owner_id, tenant, stream_key, key_digest, created_at, updated_at, upload_prefix)
            values (${id}, 'a1', '', ${`key-${id}`}, ${`digest-${id}`}, ${t}, ${t}, ${prefix})`.execute(store.db);
      await stream('played', 'app/u/played/');
      await stream('waiting', 'app/u/waiting/');
      await stream('rig', null);
      for (const [id, at] of [['b-second', '2024-01-02T00:00:00.000Z'], ['b-first', '2024-01-01T00:00:00.000Z']] as const) {
        await sql`insert into broadcasts (id, stream_id, started_at, ended_at, publishing) values (${id}, 'played', ${at}, ${at}, 0)`.execute(store.db);
      }
      assert.ok((await store.migrate()).applied.includes('0017_first_broadcast_id'));
      const rows = await store.db.selectFrom('streams').select(['id', 'first_broadcast_id']).where('owner_id', '=', 'a1').execute();
      const first = new Map(rows.map((r) => [r.id, r.first_broadcast_id]));
      assert.equal(first.get('played'), 'b-first');
      assert.match(first.get('waiting') ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(first.get('rig'), null, 'streams of the other APIs are left alone');
    });

    it('0019 retires the counters of public ids, keeping every id given; undone, the counters resume past the largest', async () => {
      await store.migrate();
      const migrator = await migratorOf(store);
      assert.equal((await migrator.migrateTo('0018_destination_key_owner')).error, undefined);
      const t = '2024-01-01T00:00:00.000Z';
      await sql`insert into accounts (id, tenant, username, created_at, updated_at) values ('m16', '', 'm0019', ${t}, ${t})`.execute(store.db);
      for (const [id, host] of [['s16a', '1000000003'], ['s16b', '77'], ['s16c', null]] as const) {
        await sql`insert into streams (id, owner_id, tenant, stream_key, key_digest, created_at, updated_at, public_host_id)
                  values (${id}, 'm16', '', ${`k-${id}`}, ${`d-${id}`}, ${t}, ${t}, ${host})`.execute(store.db);
      }
      await sql`insert into ms_streams (stream_id, number, owner_id, name, slug, updated_at) values ('s16c', 3, 'm16', 'c', 'c', ${t})`.execute(store.db);
      const sequences = () => store.db.selectFrom('id_sequences').select(['name', 'value']).where('name', 'in', ['ms_stream', 'public_host_id']).orderBy('name').execute();
      assert.equal((await sequences()).length, 2);

      assert.ok((await store.migrate()).applied.includes('0019_random_public_ids'));
      assert.deepEqual(await sequences(), []);
      const kept = await store.db.selectFrom('streams').select(['id', 'public_host_id']).where('owner_id', '=', 'm16').orderBy('id').execute();
      assert.deepEqual(kept.map((r) => r.public_host_id), ['1000000003', '77', null]);
      assert.equal(Number((await store.db.selectFrom('ms_streams').select('number').where('stream_id', '=', 's16c').executeTakeFirstOrThrow()).number), 3);

      // A random id given meanwhile is the largest: the counters resume past it.
      await sql`update streams set public_host_id = '2000000000' where id = 's16a'`.execute(store.db);
      await sql`update ms_streams set number = 1900000000 where stream_id = 's16c'`.execute(store.db);
      assert.equal((await migrator.migrateTo('0018_destination_key_owner')).error, undefined);
      assert.deepEqual((await sequences()).map((r) => [r.name, Number(r.value)]), [['ms_stream', 1900000000], ['public_host_id', 2000000000]]);
      await store.migrate();
    });

    it('0018 records the network account owner of each destination an attachment made, as whose key it holds', async () => {
      await store.migrate();
      const migrator = await migratorOf(store);
      assert.equal((await migrator.migrateTo('0017_first_broadcast_id')).error, undefined);
      const t = '2024-01-01T00:00:00.000Z';
      for (const id of ['streamer', 'lender']) {
        await sql`insert into accounts (id, tenant, username, created_at, updated_at) values (${id}, '', ${`m0018-${id}`}, ${t}, ${t})`.execute(store.db);
      }
      await sql`insert into streams (id, owner_id, tenant, stream_key, key_digest, created_at, updated_at) values ('s15', 'streamer', '', 'k15', 'd15', ${t}, ${t})`.execute(store.db);
      await sql`insert into network_accounts (id, owner_id, network, name, slug, settings, created_at, updated_at)
                values (1501, 'lender', 'rtmp', 'Lent', 'lent', '{}', ${t}, ${t})`.execute(store.db);
      for (const [id, number] of [['d-attached', 1501], ['d-rig', 1502]] as const) {
        await sql`insert into destinations (id, number, stream_id, service, stream_key, created_at) values (${id}, ${number}, 's15', 'RTMP', 'rtmp://h/app/k', ${t})`.execute(store.db);
      }
      await sql`insert into stream_accounts (stream_id, network_account_id, settings, destination_id, created_at, updated_at)
                values ('s15', 1501, '{}', 'd-attached', ${t}, ${t})`.execute(store.db);
      assert.ok((await store.migrate()).applied.includes('0018_destination_key_owner'));
      const rows = await store.db.selectFrom('destinations').select(['id', 'key_owner_id']).where('stream_id', '=', 's15').orderBy('id').execute();
      assert.deepEqual(rows, [
        { id: 'd-attached', key_owner_id: 'lender' },
        { id: 'd-rig', key_owner_id: null },
      ]);
    });
  });
}

for (const kind of databaseKinds()) {
  describe(`migrations started by several nodes at once (${kind})`, () => {
    let database: TestDatabase;
    const stores: Store[] = [];

    before(async () => {
      database = await createTestDatabase(kind);
      for (let i = 0; i < 3; i++) stores.push(Store.open(loadConfig({ databaseUrl: database.url }, {}).database));
    });
    after(async () => {
      for (const store of stores) await store.close();
      await database.drop();
    });

    it('apply each migration once: one node applies, the others wait and find it done', async () => {
      const reports = await Promise.all(stores.map((store) => store.migrate()));
      const applied = reports.flatMap((r) => r.applied);
      const all = Object.keys(await migrationProvider.getMigrations()).sort();
      assert.deepEqual([...applied].sort(), all, 'every migration applied, none twice');
      // Every node sees the whole schema, and a later start has nothing left to do.
      for (const store of stores) assert.ok((await tables(store)).includes('callbacks'));
      assert.deepEqual((await stores[0]!.migrate()).applied, []);
    });
  });
}

