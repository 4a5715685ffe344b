/**
 * Public host ids the server makes up are random, not a counter (a counter tells anyone who
 * makes two sessions how many others were made in between): 10 digits, as the document's
 * example `1000016132`, and at most 2147483647, so a client keeping them in a 32-bit integer
 * (Flash's `int`) still can. A site's own `site_user_id` still overrides them, and ids given out
 * by the counter before keep working.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { assertOk, call, createSession, newSite, text } from './support.js';

for (const kind of databaseKinds()) {
  describe(`StreamAPI public host ids (${kind})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(() => server?.close());

    it('are random 10-digit numbers within a signed 32-bit integer, never counting up', async () => {
      const site = await newSite(server, 'random ids');
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push((await createSession(server, site, { username: `caster${i}` })).publicHostId);
      for (const id of ids) {
        assert.match(id, /^[1-9]\d{9}$/);
        assert.ok(Number(id) >= 1_000_000_000 && Number(id) <= 2_147_483_647, id);
      }
      assert.equal(new Set(ids).size, ids.length);
      for (let i = 1; i < ids.length; i++) {
        assert.ok(Math.abs(Number(ids[i]) - Number(ids[i - 1])) > 1, `${ids[i - 1]} then ${ids[i]}: counting up`);
      }
      for (const id of ids) assert.equal(text(assertOk(await call(server, site, '/session/live', { public_hostid: id })), 'public_hostid'), id);
    });

    it('a site_user_id still names the host id, and a counter-made id of before keeps working', async () => {
      const site = await newSite(server, 'own ids');
      assert.equal((await createSession(server, site, { site_user_id: '42' })).publicHostId, '42');
      const older = await createSession(server, site, { username: 'older' });
      // What the counter gave the first session before random ids.
      await server.running.store.db.updateTable('streams').set({ public_host_id: '1000000001' }).where('public_host_id', '=', older.publicHostId).execute();
      const live = assertOk(await call(server, site, '/session/live', { public_hostid: '1000000001' }));
      assert.equal(text(live, 'private_hostid'), older.privateHostId);
      assert.equal(text(assertOk(await call(server, site, '/host/id/public', { private_hostid: older.privateHostId })), 'public_hostid'), '1000000001');
    });
  });
}
