/**
 * Kickfolio API v1, Versions: create on /api/versions and /api/apps/:app_id/versions (and the
 * xcoder form POST to the app), list all or scoped with `app_id` and `ids[]`, fetch (404 when
 * scoped to the wrong app), update, delete, and every field error.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { appZip } from '../../bundles/support.js';
import { assertError, assertInvalid, BundleHost, createApp, createVersion, kf, newUser, PRIVATE_FETCH, TIMESTAMP, UUID, waitForState, type User } from './support.js';

const UNKNOWN = '7217b0b6-d735-4ba9-bda8-419b1b397ede';
const VERSION_KEYS = [
  'id',
  'app_id',
  'state',
  'bundle_url',
  'version_string',
  'default_image',
  'default_image_landscape',
  'created_at',
  'updated_at',
  'comments',
  'comment_ids',
  'icon',
  'bundle',
  'display_name',
  'device_type',
  'failure_reason',
];

for (const kind of databaseKinds()) {
  describe(`kickfolio versions on ${kind}`, () => {
    let server: TestServer;
    let host: BundleHost;
    let user: User;
    let stranger: User;
    let bundleUrl: string;
    before(async () => {
      server = await startTestServer(kind, PRIVATE_FETCH);
      host = await new BundleHost().start();
      bundleUrl = host.file('/demo.app.zip', appZip());
      user = await newUser(server);
      stranger = await newUser(server);
    });
    after(async () => {
      await host.close();
      await server.close();
    });

    describe('create', () => {
      it('POST /api/versions: 201, pending, the document\'s fields first', async () => {
        const app = await createApp(server, user);
        const r = await kf(server, 'POST', '/api/versions', { user, body: { version: { app_id: app.id, bundle_url: bundleUrl } } });
        assert.equal(r.status, 201, r.text);
        const v = r.json.version;
        assert.deepEqual(Object.keys(r.json), ['version']);
        assert.deepEqual(Object.keys(v), VERSION_KEYS);
        assert.match(v.id, UUID);
        assert.match(v.created_at, TIMESTAMP);
        assert.deepEqual(v, {
          id: v.id,
          app_id: app.id,
          state: 'pending',
          bundle_url: bundleUrl,
          version_string: null,
          default_image: null,
          default_image_landscape: null,
          created_at: v.created_at,
          updated_at: v.created_at,
          comments: [],
          comment_ids: [],
          icon: null,
          bundle: null,
          display_name: null,
          device_type: null,
          failure_reason: null,
        });
        await waitForState(server, user, v.id);
      });

      it('POST /api/apps/:app_id/versions takes the app from the path (id or public key), which wins over the body', async () => {
        const app = await createApp(server, user);
        const other = await createApp(server, user);
        const byId = await kf(server, 'POST', `/api/apps/${app.id}/versions`, { user, body: { version: { bundle_url: bundleUrl, version_string: '2.0' } } });
        assert.equal(byId.status, 201, byId.text);
        assert.equal(byId.json.version.app_id, app.id);
        assert.equal(byId.json.version.version_string, '2.0');
        const byKey = await kf(server, 'POST', `/api/apps/${app.public_key}/versions.json`, { user, body: { app_id: other.id, bundle_url: bundleUrl } });
        assert.equal(byKey.status, 201, byKey.text);
        assert.equal(byKey.json.version.app_id, app.id);
        await waitForState(server, user, byId.json.version.id);
        await waitForState(server, user, byKey.json.version.id);
      });

      it('takes xcoder\'s form POST to the app itself, sent as application/json', async () => {
        const app = await createApp(server, user);
        const r = await kf(server, 'POST', `/api/apps/${app.id}`, {
          user: null,
          rawBody: `bundle_url=${encodeURIComponent(bundleUrl)}&auth_token=${encodeURIComponent(user.token)}`,
          contentType: 'application/json',
        });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.json.version.app_id, app.id);
        assert.equal(r.json.version.bundle_url, bundleUrl);
        assert.equal((await waitForState(server, user, r.json.version.id)).state, 'ready');
      });

      it('reports every field error at once as record_invalid, changing nothing', async () => {
        const app = await createApp(server, user);
        const theirs = await createApp(server, stranger);
        const before = await server.snapshot();
        const invalid = (field: string, message: string) => ({ field, resource: 'Version', message });
        assertInvalid(await kf(server, 'POST', '/api/versions', { user, body: { version: {} } }), [invalid('app_id', "can't be blank"), invalid('bundle_url', "can't be blank")]);
        assertInvalid(await kf(server, 'POST', '/api/versions', { user, body: { version: { app_id: UNKNOWN, bundle_url: bundleUrl } } }), [invalid('app_id', 'does not exist')]);
        assertInvalid(await kf(server, 'POST', '/api/versions', { user, body: { version: { app_id: theirs.id, bundle_url: bundleUrl } } }), [invalid('app_id', 'does not exist')]);
        for (const url of ['ftp://example.com/a.zip', 'file:///etc/passwd', 'not a url', 'javascript:alert(1)', 'http://']) {
          assertInvalid(await kf(server, 'POST', '/api/versions', { user, body: { version: { app_id: app.id, bundle_url: url } } }), [invalid('bundle_url', 'must be an http:// or https:// URL')]);
        }
        assertInvalid(await kf(server, 'POST', '/api/versions', { user, body: { version: { app_id: app.id, bundle_url: `https://example.com/${'a'.repeat(2048)}` } } }), [
          invalid('bundle_url', 'is too long (maximum is 2048 characters)'),
        ]);
        assertInvalid(await kf(server, 'POST', '/api/versions', { user, body: { version: { app_id: app.id, bundle_url: bundleUrl, version_string: '1'.repeat(65) } } }), [
          invalid('version_string', 'is too long (maximum is 64 characters)'),
        ]);
        assertInvalid(await kf(server, 'POST', '/api/versions', { user, body: { version: { app_id: app.id, bundle_url: bundleUrl, version_string: 1.2 } } }), [invalid('version_string', 'must be a string')]);
        assertInvalid(await kf(server, 'POST', '/api/versions', { user, body: { version: { app_id: 7, bundle_url: true } } }), [invalid('app_id', 'must be a string'), invalid('bundle_url', 'must be a string')]);
        const summary = await kf(server, 'POST', '/api/versions', { user, body: {} });
        assert.equal(summary.json.message, "Validation failed: App can't be blank, Bundle url can't be blank");
        assert.equal(await server.snapshot(), before);
      });

      it('answers 422 (not 500) when the app is deleted between the check and the insert', async () => {
        const app = await createApp(server, user);
        const versions = server.running.store.versions;
        const insert = versions.insert.bind(versions);
        versions.insert = async (row) => {
          await server.running.store.apps.delete(row.app_id!);
          return insert(row);
        };
        try {
          const r = await kf(server, 'POST', '/api/versions', { user, body: { version: { app_id: app.id, bundle_url: bundleUrl } } });
          assertInvalid(r, [{ field: 'app_id', resource: 'Version', message: 'does not exist' }]);
        } finally {
          versions.insert = insert;
        }
      });

      it('answers 404 for a path app that is not the caller\'s, changing nothing', async () => {
        const theirs = await createApp(server, stranger);
        const before = await server.snapshot();
        assertError(await kf(server, 'POST', `/api/apps/${theirs.id}/versions`, { user, body: { bundle_url: bundleUrl } }), 404, 'not_found', 'App not found');
        assertError(await kf(server, 'POST', `/api/apps/${theirs.id}`, { user, body: { bundle_url: bundleUrl } }), 404, 'not_found', 'App not found');
        assert.equal(await server.snapshot(), before);
      });
    });

    describe('list and fetch', () => {
      it('lists all the caller\'s versions, or an app\'s by path or app_id, filtered by ids[]', async () => {
        const owner = await newUser(server);
        const a = await createApp(server, owner, 'A');
        const b = await createApp(server, owner, 'B');
        const a1 = await createVersion(server, owner, a.id, bundleUrl);
        const b1 = await createVersion(server, owner, b.id, bundleUrl);
        const a2 = await createVersion(server, owner, a.id, bundleUrl);
        await createVersion(server, stranger, (await createApp(server, stranger)).id, bundleUrl);
        const ids = (r: { json: { versions: { id: string }[] } }) => r.json.versions.map((v) => v.id);

        assert.deepEqual(ids(await kf(server, 'GET', '/api/versions', { user: owner })), [a1.id, b1.id, a2.id]);
        assert.deepEqual(ids(await kf(server, 'GET', `/api/apps/${a.id}/versions`, { user: owner })), [a1.id, a2.id]);
        assert.deepEqual(ids(await kf(server, 'GET', `/api/apps/${b.public_key}/versions.json`, { user: owner })), [b1.id]);
        assert.deepEqual(ids(await kf(server, 'GET', `/api/versions.json?app_id=${a.id}`, { user: owner })), [a1.id, a2.id]);
        assert.deepEqual(ids(await kf(server, 'GET', '/api/versions?app_id=', { user: owner })), [a1.id, b1.id, a2.id]);
        assert.deepEqual(ids(await kf(server, 'GET', `/api/versions?ids[]=${a2.id}&ids[]=${b1.id}&ids[]=${UNKNOWN}`, { user: owner })), [b1.id, a2.id]);
        assert.deepEqual(ids(await kf(server, 'GET', `/api/apps/${a.id}/versions?ids[]=${b1.id}`, { user: owner })), []);
        const app = await kf(server, 'GET', `/api/apps/${a.id}`, { user: owner });
        assert.deepEqual(app.json.app.versions, [a1.id, a2.id]);
        assert.deepEqual(app.json.app.version_ids, [a1.id, a2.id]);
        for (const v of [a1, b1, a2]) await waitForState(server, owner, v.id);
      });

      it('answers 404 for an app filter or scope that is not the caller\'s', async () => {
        const theirs = await createApp(server, stranger);
        assertError(await kf(server, 'GET', `/api/apps/${theirs.id}/versions`, { user }), 404, 'not_found', 'App not found');
        assertError(await kf(server, 'GET', `/api/versions?app_id=${theirs.id}`, { user }), 404, 'not_found', 'App not found');
        assertError(await kf(server, 'GET', `/api/versions?app_id=${UNKNOWN}`, { user }), 404, 'not_found');
      });

      it('fetches a version, also through its app; another app\'s scope, another user\'s version and unknown ids are 404', async () => {
        const app = await createApp(server, user);
        const other = await createApp(server, user);
        const v = await createVersion(server, user, app.id, bundleUrl);
        await waitForState(server, user, v.id);
        const direct = await kf(server, 'GET', `/api/versions/${v.id}`, { user });
        assert.equal(direct.status, 200);
        for (const path of [`/api/versions/${v.id}.json`, `/api/apps/${app.id}/versions/${v.id}`, `/api/apps/${app.public_key}/versions/${v.id}.json`]) {
          const r = await kf(server, 'GET', path, { user });
          assert.equal(r.status, 200, `${path}: ${r.text}`);
          assert.deepEqual(r.json, direct.json);
        }
        assertError(await kf(server, 'GET', `/api/apps/${other.id}/versions/${v.id}`, { user }), 404, 'not_found', 'Version not found');
        assertError(await kf(server, 'GET', `/api/versions/${v.id}`, { user: stranger }), 404, 'not_found', 'Version not found');
        assertError(await kf(server, 'GET', `/api/versions/${UNKNOWN}`, { user }), 404, 'not_found');
        assertError(await kf(server, 'GET', '/api/versions/nope', { user }), 404, 'not_found');
      });
    });

    describe('update', () => {
      it('changes version_string and moves a version to another of the caller\'s apps', async () => {
        const app = await createApp(server, user);
        const other = await createApp(server, user);
        const v = await createVersion(server, user, app.id, bundleUrl, { version_string: '1.0' });
        const ready = await waitForState(server, user, v.id);
        const r = await kf(server, 'PUT', `/api/versions/${v.id}`, { user, body: { version: { ...ready, version_string: '1.0.1', app_id: other.public_key } } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.version.version_string, '1.0.1');
        assert.equal(r.json.version.app_id, other.id);
        // The same bundle URL sent back with the whole record does not process it again.
        assert.equal(r.json.version.state, 'ready');
        assert.deepEqual((await kf(server, 'GET', `/api/apps/${app.id}`, { user })).json.app.versions, []);
        assert.deepEqual((await kf(server, 'GET', `/api/apps/${other.id}`, { user })).json.app.versions, [v.id]);
        const cleared = await kf(server, 'PUT', `/api/apps/${other.id}/versions/${v.id}.json`, { user, body: { version_string: null } });
        assert.equal(cleared.status, 200, cleared.text);
        assert.equal(cleared.json.version.version_string, null);
      });

      it('refuses bad fields, another user\'s app, a wrong scope and another user\'s version, changing nothing', async () => {
        const app = await createApp(server, user);
        const other = await createApp(server, user);
        const theirs = await createApp(server, stranger);
        const v = await createVersion(server, user, app.id, bundleUrl);
        await waitForState(server, user, v.id);
        const before = await server.snapshot();
        const invalid = (field: string, message: string) => ({ field, resource: 'Version', message });
        assertInvalid(await kf(server, 'PUT', `/api/versions/${v.id}`, { user, body: { version: { bundle_url: 'gopher://x' } } }), [invalid('bundle_url', 'must be an http:// or https:// URL')]);
        assertInvalid(await kf(server, 'PUT', `/api/versions/${v.id}`, { user, body: { version: { bundle_url: '' } } }), [invalid('bundle_url', "can't be blank")]);
        assertInvalid(await kf(server, 'PUT', `/api/versions/${v.id}`, { user, body: { version: { app_id: theirs.id } } }), [invalid('app_id', 'does not exist')]);
        assertInvalid(await kf(server, 'PUT', `/api/versions/${v.id}`, { user, body: { version: { app_id: '', version_string: 'x'.repeat(100) } } }), [
          invalid('app_id', "can't be blank"),
          invalid('version_string', 'is too long (maximum is 64 characters)'),
        ]);
        assertError(await kf(server, 'PUT', `/api/apps/${other.id}/versions/${v.id}`, { user, body: { version_string: '9' } }), 404, 'not_found');
        assertError(await kf(server, 'PUT', `/api/versions/${v.id}`, { user: stranger, body: { version_string: '9' } }), 404, 'not_found');
        assert.equal(await server.snapshot(), before);
      });
    });

    describe('delete', () => {
      it('deletes a version (204, empty), also through its app; the wrong scope and another user are 404', async () => {
        const app = await createApp(server, user);
        const other = await createApp(server, user);
        const v1 = await createVersion(server, user, app.id, bundleUrl);
        const v2 = await createVersion(server, user, app.id, bundleUrl);
        await waitForState(server, user, v1.id);
        await waitForState(server, user, v2.id);
        const before = await server.snapshot();
        assertError(await kf(server, 'DELETE', `/api/apps/${other.id}/versions/${v1.id}`, { user }), 404, 'not_found');
        assertError(await kf(server, 'DELETE', `/api/versions/${v1.id}`, { user: stranger }), 404, 'not_found');
        assert.equal(await server.snapshot(), before);

        const direct = await kf(server, 'DELETE', `/api/versions/${v1.id}`, { user });
        assert.equal(direct.status, 204);
        assert.equal(direct.text, '');
        const scoped = await kf(server, 'DELETE', `/api/apps/${app.public_key}/versions/${v2.id}.json`, { user });
        assert.equal(scoped.status, 204);
        assertError(await kf(server, 'GET', `/api/versions/${v1.id}`, { user }), 404, 'not_found');
        assertError(await kf(server, 'DELETE', `/api/versions/${v1.id}`, { user }), 404, 'not_found');
        assert.deepEqual((await kf(server, 'GET', `/api/apps/${app.id}`, { user })).json.app.versions, []);
      });
    });
  });
}
