/**
 * Kickfolio API v1, Comments on versions: list, create and delete under
 * /api/versions/:version_id/comments and /api/comments (Ember Data's `comment_ids` loading),
 * `comment_ids` on the version, field errors, and other users' versions answered as absent.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { assertError, assertInvalid, createApp, createVersion, kf, newUser, PRIVATE_FETCH, TIMESTAMP, UUID, waitForState, type User } from './support.js';

const UNKNOWN = '7217b0b6-d735-4ba9-bda8-419b1b397ede';
// Processing is not what these tests are about: a URL that fails at once keeps them quick.
const BUNDLE_URL = 'http://127.0.0.1:9/nothing.zip';

for (const kind of databaseKinds()) {
  describe(`kickfolio comments on ${kind}`, () => {
    let server: TestServer;
    let user: User;
    let stranger: User;
    before(async () => {
      server = await startTestServer(kind, PRIVATE_FETCH);
      user = await newUser(server);
      stranger = await newUser(server);
    });
    after(() => server.close());

    async function version(owner: User): Promise<Record<string, any>> {
      const app = await createApp(server, owner);
      const v = await createVersion(server, owner, app.id, BUNDLE_URL);
      await waitForState(server, owner, v.id);
      return v;
    }

    it('creates comments on a version (201), lists them oldest first, and shows their ids on the version', async () => {
      const v = await version(user);
      const first = await kf(server, 'POST', `/api/versions/${v.id}/comments`, { user, body: { comment: { body: 'Looks great on the iPad' } } });
      assert.equal(first.status, 201, first.text);
      const c = first.json.comment;
      assert.deepEqual(Object.keys(first.json), ['comment']);
      assert.deepEqual(Object.keys(c), ['id', 'version_id', 'user_id', 'body', 'created_at', 'updated_at']);
      assert.match(c.id, UUID);
      assert.match(c.created_at, TIMESTAMP);
      assert.deepEqual(c, { id: c.id, version_id: v.id, user_id: user.id, body: 'Looks great on the iPad', created_at: c.created_at, updated_at: c.created_at });
      const second = await kf(server, 'POST', '/api/comments', { user, body: { version_id: v.id, body: '  The launch image is stretched  ' } });
      assert.equal(second.status, 201, second.text);
      assert.equal(second.json.comment.body, 'The launch image is stretched');
      const form = await kf(server, 'POST', `/api/versions/${v.id}/comments.json`, { user, rawBody: 'comment[body]=Form+comment', contentType: 'application/x-www-form-urlencoded' });
      assert.equal(form.status, 201, form.text);

      const ids = [c.id, second.json.comment.id, form.json.comment.id];
      const list = await kf(server, 'GET', `/api/versions/${v.id}/comments`, { user });
      assert.equal(list.status, 200);
      assert.deepEqual(list.json.comments.map((x: { id: string }) => x.id), ids);
      const got = await kf(server, 'GET', `/api/versions/${v.id}`, { user });
      assert.deepEqual(got.json.version.comment_ids, ids);
      assert.deepEqual(got.json.version.comments, ids);
    });

    it('loads comments by ids[] and version_id at /api/comments, and one at /api/comments/:id', async () => {
      const v1 = await version(user);
      const v2 = await version(user);
      const a = (await kf(server, 'POST', `/api/versions/${v1.id}/comments`, { user, body: { body: 'a' } })).json.comment;
      const b = (await kf(server, 'POST', `/api/versions/${v2.id}/comments`, { user, body: { body: 'b' } })).json.comment;
      const theirs = await version(stranger);
      const hidden = (await kf(server, 'POST', `/api/versions/${theirs.id}/comments`, { user: stranger, body: { body: 'hidden' } })).json.comment;

      const ids = (r: { json: { comments: { id: string }[] } }) => r.json.comments.map((x) => x.id);
      assert.deepEqual(ids(await kf(server, 'GET', `/api/comments?ids[]=${b.id}&ids[]=${a.id}&ids[]=${hidden.id}`, { user })), [a.id, b.id]);
      assert.deepEqual(ids(await kf(server, 'GET', `/api/comments.json?version_id=${v2.id}`, { user })), [b.id]);
      const all = ids(await kf(server, 'GET', '/api/comments', { user }));
      assert.ok(all.includes(a.id) && all.includes(b.id) && !all.includes(hidden.id));
      for (const path of [`/api/comments/${a.id}`, `/api/comments/${a.id}.json`, `/api/versions/${v1.id}/comments/${a.id}`]) {
        const r = await kf(server, 'GET', path, { user });
        assert.equal(r.status, 200, `${path}: ${r.text}`);
        assert.deepEqual(r.json, { comment: a });
      }
      assertError(await kf(server, 'GET', `/api/versions/${v2.id}/comments/${a.id}`, { user }), 404, 'not_found', 'Comment not found');
      assertError(await kf(server, 'GET', `/api/comments/${hidden.id}`, { user }), 404, 'not_found');
      assertError(await kf(server, 'GET', `/api/comments?version_id=${theirs.id}`, { user }), 404, 'not_found', 'Version not found');
    });

    it('refuses a blank, missing, too long or non-string body and a missing or unknown version_id, changing nothing', async () => {
      const v = await version(user);
      const theirs = await version(stranger);
      const before = await server.snapshot();
      const invalid = (field: string, message: string) => ({ field, resource: 'Comment', message });
      assertInvalid(await kf(server, 'POST', `/api/versions/${v.id}/comments`, { user, body: { comment: { body: ' ' } } }), [invalid('body', "can't be blank")]);
      assertInvalid(await kf(server, 'POST', `/api/versions/${v.id}/comments`, { user, body: {} }), [invalid('body', "can't be blank")]);
      assertInvalid(await kf(server, 'POST', `/api/versions/${v.id}/comments`, { user, body: { body: 'x'.repeat(10_001) } }), [invalid('body', 'is too long (maximum is 10000 characters)')]);
      assertInvalid(await kf(server, 'POST', `/api/versions/${v.id}/comments`, { user, body: { body: { text: 'x' } } }), [invalid('body', 'must be a string')]);
      assertInvalid(await kf(server, 'POST', '/api/comments', { user, body: { body: 'x' } }), [invalid('version_id', "can't be blank")]);
      assertInvalid(await kf(server, 'POST', '/api/comments', { user, body: { version_id: theirs.id, body: 'x' } }), [invalid('version_id', 'does not exist')]);
      assertInvalid(await kf(server, 'POST', '/api/comments', { user, body: { version_id: UNKNOWN, body: '' } }), [invalid('version_id', 'does not exist'), invalid('body', "can't be blank")]);
      assertError(await kf(server, 'POST', `/api/versions/${theirs.id}/comments`, { user, body: { body: 'x' } }), 404, 'not_found', 'Version not found');
      assert.equal(await server.snapshot(), before);
    });

    it('deletes a comment (204, empty), also under its version; another version, another user and unknown ids are 404', async () => {
      const v = await version(user);
      const other = await version(user);
      const a = (await kf(server, 'POST', `/api/versions/${v.id}/comments`, { user, body: { body: 'a' } })).json.comment;
      const b = (await kf(server, 'POST', `/api/versions/${v.id}/comments`, { user, body: { body: 'b' } })).json.comment;
      const before = await server.snapshot();
      assertError(await kf(server, 'DELETE', `/api/versions/${other.id}/comments/${a.id}`, { user }), 404, 'not_found');
      assertError(await kf(server, 'DELETE', `/api/comments/${a.id}`, { user: stranger }), 404, 'not_found');
      assertError(await kf(server, 'DELETE', `/api/comments/${UNKNOWN}`, { user }), 404, 'not_found');
      assert.equal(await server.snapshot(), before);

      const r = await kf(server, 'DELETE', `/api/comments/${a.id}`, { user });
      assert.equal(r.status, 204);
      assert.equal(r.text, '');
      assert.equal((await kf(server, 'DELETE', `/api/versions/${v.id}/comments/${b.id}.json`, { user })).status, 204);
      assert.deepEqual((await kf(server, 'GET', `/api/versions/${v.id}`, { user })).json.version.comment_ids, []);
    });

    it('deleting a version deletes its comments', async () => {
      const v = await version(user);
      const c = (await kf(server, 'POST', `/api/versions/${v.id}/comments`, { user, body: { body: 'bye' } })).json.comment;
      assert.equal((await kf(server, 'DELETE', `/api/versions/${v.id}`, { user })).status, 204);
      assertError(await kf(server, 'GET', `/api/comments/${c.id}`, { user }), 404, 'not_found');
    });
  });
}
