import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

for (const kind of databaseKinds()) {
  describe(`rig smoke on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(() => server.close());

    it('creates an account', async () => {
      const r = await server.request('POST', '/accounts/', { body: { username: 'foobar', password: 'Hop0nTh4tM4ng0Tree', email: 'f@x.net' } });
      assert.equal(r.status, 200);
      assert.equal(r.json.payload.username, 'foobar');
    });
  });
}
