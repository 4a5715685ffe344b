/**
 * Multistreamer stream ids are random integers, not a counter (the original's serial told every
 * user how many streams the server holds): within a signed 32-bit integer like a PostgreSQL
 * serial, so clients keeping them as `int` still can. Ids given out by the counter before keep
 * working, for the API and the chat socket alike.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { ms, msUser, newStream, type MsUser } from './support.js';

for (const kind of databaseKinds()) {
  describe(`Multistreamer stream ids (${kind})`, () => {
    let server: TestServer;
    let owner: MsUser;
    before(async () => {
      server = await startTestServer(kind);
      owner = await msUser(server, 'ids');
    });
    after(() => server?.close());

    it('are random positive 32-bit integers, never counting up', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 12; i++) ids.push((await newStream(server, owner, { name: `Random ${i}` })).id);
      for (const id of ids) assert.ok(Number.isSafeInteger(id) && id >= 1 && id <= 2_147_483_647, String(id));
      assert.equal(new Set(ids).size, ids.length);
      for (let i = 1; i < ids.length; i++) assert.ok(Math.abs(ids[i]! - ids[i - 1]!) > 1, `${ids[i - 1]} then ${ids[i]}: counting up`);
      for (const id of ids) assert.equal((await ms(server, 'GET', `/stream/${id}`, owner)).json.stream.id, id);
    });

    it('keeps a counter-made id of before working', async () => {
      const made = await newStream(server, owner, { name: 'Older' });
      await server.running.store.db.updateTable('ms_streams').set({ number: 7 }).where('number', '=', made.id).execute();
      const r = await ms(server, 'GET', '/stream/7', owner);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.stream.name, 'Older');
      assert.equal((await ms(server, 'PATCH', '/stream/7', owner, { body: {} })).status, 200);
    });
  });
}
