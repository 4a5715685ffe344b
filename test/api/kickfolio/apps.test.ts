/**
 * Kickfolio API v1, Apps: list (with `ids[]`), fetch by id or public key, create, update and
 * delete, field errors as `record_invalid`, and other users' apps answered as absent.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { appZip } from '../../bundles/support.js';
import {
  assertError,
  assertInvalid,
  BundleHost,
  createApp,
  createVersion,
  kf,
  newUser,
  pathOf,
  PRIVATE_FETCH,
  PUBLIC_KEY,
  storedFiles,
  TIMESTAMP,
  UUID,
  waitForState,
  type User,
} from './support.js';

const UNKNOWN = '7217b0b6-d735-4ba9-bda8-419b1b397ede';

for (const kind of databaseKinds()) {
  describe(`kickfolio apps on ${kind}`, () => {
    let server: TestServer;
    let host: BundleHost;
    let user: User;
    let stranger: User;
    before(async () => {
      server = await startTestServer(kind, PRIVATE_FETCH);
      host = await new BundleHost().start();
      user = await newUser(server);
      stranger = await newUser(server);
    });
    after(async () => {
      await host.close();
      await server.close();
    });

    describe('POST /api/apps', () => {
      it('creates an app: 201 and the document\'s fields, in its order', async () => {
        const r = await kf(server, 'POST', '/api/apps', { user, body: { app: { name: 'Kickfolio' } } });
        assert.equal(r.status, 201, r.text);
        const app = r.json.app;
        assert.deepEqual(Object.keys(r.json), ['app']);
        assert.deepEqual(Object.keys(app), ['id', 'user_id', 'name', 'public_key', 'bundle', 'default_to_landscape', 'icon', 'device_type', 'created_at', 'updated_at', 'versions', 'version_ids']);
        assert.match(app.id, UUID);
        assert.match(app.public_key, PUBLIC_KEY);
        assert.match(app.created_at, TIMESTAMP);
        assert.deepEqual(app, {
          id: app.id,
          user_id: user.id,
          name: 'Kickfolio',
          public_key: app.public_key,
          bundle: null,
          default_to_landscape: false,
          icon: null,
          device_type: null,
          created_at: app.created_at,
          updated_at: app.created_at,
          versions: [],
          version_ids: [],
        });
      });

      it('gives each app its own public key', async () => {
        const keys = await Promise.all([1, 2, 3, 4, 5, 6].map(async (n) => (await createApp(server, user, `App ${n}`)).public_key));
        assert.equal(new Set(keys).size, 6);
      });

      it('trims the name and refuses a blank, missing, null, too long or non-string name with record_invalid', async () => {
        assert.equal((await createApp(server, user, '  Padded  ')).name, 'Padded');
        const before = await server.snapshot();
        const blank = [{ field: 'name', resource: 'App', message: "can't be blank" }];
        assertInvalid(await kf(server, 'POST', '/api/apps', { user, body: { app: { name: '' } } }), blank);
        assertInvalid(await kf(server, 'POST', '/api/apps', { user, body: { app: { name: '   ' } } }), blank);
        assertInvalid(await kf(server, 'POST', '/api/apps', { user, body: { app: { name: null } } }), blank);
        assertInvalid(await kf(server, 'POST', '/api/apps', { user, body: { app: {} } }), blank);
        assertInvalid(await kf(server, 'POST', '/api/apps', { user, contentType: null }), blank);
        const long = await kf(server, 'POST', '/api/apps', { user, body: { app: { name: 'x'.repeat(256) } } });
        assertInvalid(long, [{ field: 'name', resource: 'App', message: 'is too long (maximum is 255 characters)' }]);
        assert.equal(long.json.message, 'Validation failed: Name is too long (maximum is 255 characters)');
        assertInvalid(await kf(server, 'POST', '/api/apps', { user, body: { app: { name: 42 } } }), [{ field: 'name', resource: 'App', message: 'must be a string' }]);
        assertInvalid(await kf(server, 'POST', '/api/apps', { user, body: { name: ['a'] } }), [{ field: 'name', resource: 'App', message: 'must be a string' }]);
        assert.equal(await server.snapshot(), before);
      });
    });

    describe('GET /api/apps', () => {
      it('lists only the caller\'s apps, oldest first, and filters by ids[]', async () => {
        const owner = await newUser(server);
        const a = await createApp(server, owner, 'A');
        const b = await createApp(server, owner, 'B');
        const c = await createApp(server, owner, 'C');
        const theirs = await createApp(server, stranger, 'Not yours');
        const all = await kf(server, 'GET', '/api/apps', { user: owner });
        assert.equal(all.status, 200);
        assert.deepEqual(Object.keys(all.json), ['apps']);
        assert.deepEqual(all.json.apps.map((x: { id: string }) => x.id), [a.id, b.id, c.id]);
        const some = await kf(server, 'GET', `/api/apps?ids[]=${c.id}&ids[]=${a.id}&ids[]=${theirs.id}&ids[]=${UNKNOWN}&ids[]=garbage`, { user: owner });
        assert.deepEqual(some.json.apps.map((x: { id: string }) => x.id), [a.id, c.id]);
        const plain = await kf(server, 'GET', `/api/apps?ids=${b.id}`, { user: owner });
        assert.deepEqual(plain.json.apps.map((x: { id: string }) => x.id), [b.id]);
        const none = await kf(server, 'GET', '/api/apps', { user: await newUser(server) });
        assert.deepEqual(none.json, { apps: [] });
      });
    });

    describe('GET /api/apps/:id', () => {
      it('fetches an app by id (any case) or by public key', async () => {
        const app = await createApp(server, user, 'Fetched');
        for (const ref of [app.id, app.id.toUpperCase(), app.public_key]) {
          const r = await kf(server, 'GET', `/api/apps/${ref}`, { user });
          assert.equal(r.status, 200, r.text);
          assert.deepEqual(r.json, { app });
        }
      });

      it('answers 404 not_found for another user\'s app, an unknown id or public key, and a malformed id', async () => {
        const theirs = await createApp(server, stranger, 'Theirs');
        for (const ref of [theirs.id, theirs.public_key, UNKNOWN, 'ZZZZZZZ', 'not-a-uuid!', "1'%20OR%20'1'='1"]) {
          assertError(await kf(server, 'GET', `/api/apps/${ref}`, { user }), 404, 'not_found', 'App not found');
        }
      });
    });

    describe('PUT /api/apps/:id', () => {
      it('renames an app by id or public key and moves updated_at', async () => {
        const app = await createApp(server, user, 'Old');
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const r = await kf(server, 'PUT', `/api/apps/${app.public_key}`, { user, body: { app: { name: 'New' } } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.app.name, 'New');
        assert.equal(r.json.app.created_at, app.created_at);
        assert.ok(r.json.app.updated_at > app.updated_at);
        const same = await kf(server, 'PUT', `/api/apps/${app.id}`, { user, body: {} });
        assert.equal(same.status, 200);
        assert.equal(same.json.app.name, 'New');
      });

      it('refuses a blank name and another user\'s app, changing nothing', async () => {
        const app = await createApp(server, user, 'Keep');
        const theirs = await createApp(server, stranger, 'Theirs');
        const before = await server.snapshot();
        assertInvalid(await kf(server, 'PUT', `/api/apps/${app.id}`, { user, body: { app: { name: '' } } }), [{ field: 'name', resource: 'App', message: "can't be blank" }]);
        assertError(await kf(server, 'PUT', `/api/apps/${theirs.id}`, { user, body: { app: { name: 'Mine now' } } }), 404, 'not_found');
        assertError(await kf(server, 'PUT', `/api/apps/${UNKNOWN}`, { user, body: { app: { name: 'x' } } }), 404, 'not_found');
        assert.equal(await server.snapshot(), before);
      });
    });

    describe('DELETE /api/apps/:id', () => {
      it('deletes the app with its versions, their comments and images: 204 with an empty body', async () => {
        const app = await createApp(server, user, 'Doomed');
        const version = await createVersion(server, user, app.id, host.file('/doomed.zip', appZip()));
        const ready = await waitForState(server, user, version.id);
        assert.equal(ready.state, 'ready', ready.failure_reason);
        const comment = await kf(server, 'POST', `/api/versions/${version.id}/comments`, { user, body: { comment: { body: 'nice' } } });
        assert.equal(comment.status, 201, comment.text);
        assert.ok(storedFiles(server).some((f) => f.startsWith(version.id)));

        const r = await kf(server, 'DELETE', `/api/apps/${app.public_key}`, { user });
        assert.equal(r.status, 204);
        assert.equal(r.text, '');
        assertError(await kf(server, 'GET', `/api/apps/${app.id}`, { user }), 404, 'not_found');
        assertError(await kf(server, 'GET', `/api/versions/${version.id}`, { user }), 404, 'not_found');
        assertError(await kf(server, 'GET', `/api/comments/${comment.json.comment.id}`, { user }), 404, 'not_found');
        assert.deepEqual(storedFiles(server).filter((f) => f.startsWith(version.id)), []);
        assertError(await server.request('GET', pathOf(ready.icon)), 404, 'not_found');
      });

      it('refuses another user\'s app and an unknown one, changing nothing', async () => {
        const theirs = await createApp(server, stranger, 'Theirs');
        const before = await server.snapshot();
        assertError(await kf(server, 'DELETE', `/api/apps/${theirs.id}`, { user }), 404, 'not_found');
        assertError(await kf(server, 'DELETE', `/api/apps/${theirs.public_key}`, { user }), 404, 'not_found');
        assertError(await kf(server, 'DELETE', `/api/apps/${UNKNOWN}`, { user }), 404, 'not_found');
        assert.equal(await server.snapshot(), before);
        assert.equal((await kf(server, 'GET', `/api/apps/${theirs.id}`, { user: stranger })).status, 200);
      });
    });
  });
}
