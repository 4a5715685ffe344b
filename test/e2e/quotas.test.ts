/**
 * Per-account quotas (issue 14, item 11): a burst of creations against the real server stops
 * at the account's quota of streams, apps and webhooks, whichever dialect makes them, with a
 * refusal in that dialect's own style that changes nothing; other accounts are not affected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { databaseKinds } from '../helpers/databases.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertRigError, newUser } from '../api/rig/support.js';
import { ms, msUser } from '../api/multistreamer/support.js';
import { accessToken, call, failed, newClient, ok } from '../api/kickflip/support.js';
import { assertError as assertKickfolioError, kf, newUser as newKickfolioUser } from '../api/kickfolio/support.js';

const QUOTAS = { accountMaxStreams: '3', accountMaxApps: '2', accountMaxWebhooks: '3' };

function hook(n: number) {
  return { url: `https://hooks.example/${n}`, type: 'raw', events: { 'stream:start': true }, notes: null };
}

for (const kind of databaseKinds()) {
  describe(`per-account quotas on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, QUOTAS);
    });
    after(() => server.close());

    it('rig: of 20 concurrent stream creations, exactly the quota succeed; the rest answer 1006 and store nothing', async () => {
      const user = await newUser(server, 'burst');
      const replies = await Promise.all(Array.from({ length: 20 }, () => server.request('POST', '/streams/', { token: user.token })));
      assert.equal(replies.filter((r) => r.status === 200).length, 3, replies.map((r) => r.status).join(' '));
      for (const refused of replies.filter((r) => r.status !== 200)) {
        assertRigError(refused, 400, 1006);
        assert.match(refused.json.message, /at most 3 streams/);
      }
      const list = await server.request('GET', '/streams/', { token: user.token });
      assert.equal(list.json.payload.length, 3);
      // Another account has its own quota.
      const other = await newUser(server, 'calm');
      assert.equal((await server.request('POST', '/streams/', { token: other.token })).status, 200);
    });

    it('counts an account\'s streams of every dialect together (rig, then Multistreamer)', async () => {
      const user = await msUser(server, 'mixed');
      const login = await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: user.password } });
      for (let i = 0; i < 2; i++) assert.equal((await server.request('POST', '/streams/', { token: login.json.payload.token })).status, 200);
      assert.equal((await ms(server, 'POST', '/stream', user, { body: { name: 'Third' } })).status, 200);
      const before = await server.snapshot();
      const refused = await ms(server, 'POST', '/stream', user, { body: { name: 'Fourth' } });
      assert.equal(refused.status, 400, refused.text);
      assert.deepEqual(refused.json, { error: 'quota reached: a user may have at most 3 streams' });
      assert.equal(await server.snapshot(), before);
    });

    it('Multistreamer: webhooks count over all of the owner\'s streams', async () => {
      const user = await msUser(server, 'hooks');
      const first = await ms(server, 'POST', '/stream', user, { body: { name: 'One', webhooks: [hook(1), hook(2)] } });
      assert.equal(first.status, 200, first.text);
      const second = await ms(server, 'POST', '/stream', user, { body: { name: 'Two' } });
      assert.equal(second.status, 200, second.text);
      const before = await server.snapshot();
      const refused = await ms(server, 'POST', `/stream/${second.json.stream.id}`, user, { body: { webhooks: [hook(3), hook(4)] } });
      assert.equal(refused.status, 400, refused.text);
      assert.deepEqual(refused.json, { error: 'quota reached: a user may have at most 3 webhooks' });
      // A stream made with too many hooks is not made at all.
      assert.equal((await ms(server, 'POST', '/stream', user, { body: { name: 'Three', webhooks: [hook(5), hook(6)] } })).status, 400);
      assert.equal(await server.snapshot(), before);
      // Replacing a list within the quota is fine, and so is shrinking one.
      assert.equal((await ms(server, 'POST', `/stream/${second.json.stream.id}`, user, { body: { webhooks: [hook(3)] } })).status, 200);
      assert.equal((await ms(server, 'POST', `/stream/${first.json.stream.id}`, user, { body: { webhooks: [hook(1)] } })).status, 200);
    });

    it('Kickflip: stream/start past the quota answers success false; a deleted stream frees its slot and comes back only into a free one', async () => {
      const creds = await newClient(server, 'Quota App');
      const token = await accessToken(server, creds);
      const user = ok(await call(server, token, 'user/new', { username: `kfquota${process.pid}`, password: 'a-fine-password-1' }));
      const streams = [];
      for (let i = 0; i < 3; i++) streams.push(ok(await call(server, token, 'stream/start', { uuid: user.uuid })));
      failed(await call(server, token, 'stream/start', { uuid: user.uuid }), /quota reached: an account may hold at most 3 streams/i);
      ok(await call(server, token, 'stream/change', { uuid: user.uuid, stream_id: streams[0].stream_id, deleted: true }));
      ok(await call(server, token, 'stream/start', { uuid: user.uuid }));
      failed(await call(server, token, 'stream/change', { uuid: user.uuid, stream_id: streams[0].stream_id, deleted: false }), /quota reached/i);
      assert.equal(ok(await call(server, token, 'stream/info', { uuid: user.uuid, stream_id: streams[0].stream_id })).deleted, true);
    });

    it('Kickfolio: an app past the quota is a 422 record_invalid on base', async () => {
      const user = await newKickfolioUser(server, 'kfapps');
      for (const name of ['One', 'Two']) assert.equal((await kf(server, 'POST', '/api/apps', { user, body: { app: { name } } })).status, 201);
      const before = await server.snapshot();
      const refused = await kf(server, 'POST', '/api/apps', { user, body: { app: { name: 'Three' } } });
      assertKickfolioError(refused, 422, 'record_invalid', 'Validation failed: Limit of 2 apps per account reached');
      assert.deepEqual(refused.json.errors, [{ field: 'base', resource: 'App', message: 'Limit of 2 apps per account reached' }]);
      assert.equal(await server.snapshot(), before);
    });
  });
}
