/**
 * Kickflip users: user/new (no body at all as Android sends it, form, JSON, trailing slash),
 * user/info (public: no uuid, no email), user/uuid (login), user/change by uuid, by username
 * and password, and Android's without any identity (the user this token made); users scoped
 * to the API client that made them; bad input changes nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { accessToken, call, failed, newClient, newDevice, ok, type ClientCredentials } from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

for (const kind of databaseKinds()) {
  describe(`Kickflip users on ${kind}`, () => {
    let server: TestServer;
    let app: ClientCredentials;
    let other: ClientCredentials;
    before(async () => {
      server = await startTestServer(kind);
      app = await newClient(server, 'Kickflip iOS 123');
      other = await newClient(server, 'Other App');
    });
    after(() => server?.close());

    it('user/new with no body makes a random user: app, name <app>-xxxxxx, uuid, extra_info a string', async () => {
      const token = await accessToken(server, app);
      for (const slash of [false, true]) {
        const user = ok(await call(server, token, 'user/new', {}, { noBody: true, slash }));
        assert.equal(user.app, 'kickflip-ios-123');
        assert.match(user.name, /^kickflip-ios-123-[a-z0-9]{6}$/);
        assert.match(user.uuid, UUID);
        assert.equal(user.extra_info, '');
      }
      // An empty JSON body and an empty form are no body too.
      ok(await server.request('POST', '/api/1.2/user/new', { token, rawBody: '', contentType: 'application/json' }));
      ok(await call(server, token, 'user/new', {}));
    });

    it('user/new takes username, password, email, display_name and extra_info, as a form or as JSON', async () => {
      const token = await accessToken(server, app);
      const form = ok(await call(server, token, 'user/new', { username: 'alice', password: 'alice-password', email: 'Alice@Example.com', display_name: 'Alice', extra_info: '{"age":30}' }));
      assert.equal(form.name, 'alice');
      assert.equal(form.display_name, 'Alice');
      assert.equal(form.extra_info, '{"age":30}');
      const json = ok(await call(server, token, 'user/new', { username: 'bob', password: 'bob-password', extra_info: { likes: ['x'] } }, { json: true, slash: true }));
      assert.equal(json.name, 'bob');
      assert.equal(json.extra_info, '{"likes":["x"]}');
    });

    it('a taken username or email, a bad username, a short password: success false, nothing stored', async () => {
      const token = await accessToken(server, app);
      const before = await server.snapshot();
      failed(await call(server, token, 'user/new', { username: 'alice' }), /taken/);
      failed(await call(server, token, 'user/new', { username: 'carol', email: 'alice@example.com' }), /email/);
      failed(await call(server, token, 'user/new', { username: 'has space' }), /username/);
      failed(await call(server, token, 'user/new', { username: 'a/b' }), /username/);
      failed(await call(server, token, 'user/new', { username: 'carol', password: 'short' }), /password/);
      failed(await call(server, token, 'user/new', { username: ['x'] }, { json: true }), /username/);
      failed(await server.request('POST', '/api/1.2/user/new', { token, rawBody: '{"username":', contentType: 'application/json' }));
      assert.equal(await server.snapshot(), before);
    });

    it('user/info shows any user of the client without its uuid or email; another client cannot see it', async () => {
      const token = await accessToken(server, app);
      const info = ok(await call(server, token, 'user/info', { username: 'alice' }));
      assert.deepEqual(Object.keys(info).sort(), ['app', 'display_name', 'extra_info', 'name', 'success']);
      assert.equal(info.name, 'alice');
      failed(await call(server, token, 'user/info', { username: 'nobody' }), /nobody/);
      failed(await call(server, token, 'user/info', {}), /username/);
      const otherToken = await accessToken(server, other);
      failed(await call(server, otherToken, 'user/info', { username: 'alice' }));
    });

    it('user/uuid logs in with username and password and returns the uuid; a wrong password does not', async () => {
      const token = await accessToken(server, app);
      const first = ok(await call(server, token, 'user/new', { username: 'dave', password: 'dave-password' }));
      const device = await accessToken(server, app);
      const login = ok(await call(server, device, 'user/uuid', { username: 'dave', password: 'dave-password' }));
      assert.equal(login.uuid, first.uuid);
      failed(await call(server, device, 'user/uuid', { username: 'dave', password: 'wrong-password' }), /password/i);
      failed(await call(server, device, 'user/uuid', { username: 'nobody', password: 'dave-password' }));
      // Another client's token does not reach the user.
      failed(await call(server, await accessToken(server, other), 'user/uuid', { username: 'dave', password: 'dave-password' }));
    });

    it('a user made without a password logs in from its own token only (the Android quirk), never from another device', async () => {
      const device = await newDevice(server, app);
      const again = ok(await call(server, device.token, 'user/uuid', { username: device.user.name, password: 'made-up-locally' }));
      assert.equal(again.uuid, device.user.uuid);
      const stranger = await accessToken(server, app);
      failed(await call(server, stranger, 'user/uuid', { username: device.user.name, password: 'made-up-locally' }));
    });

    it('user/change by uuid, by username and password, and (Android) by the token that made the user', async () => {
      const byUuid = ok(await call(server, await accessToken(server, app), 'user/change', { uuid: (await newDevice(server, app)).user.uuid, display_name: 'By Uuid' }));
      assert.equal(byUuid.display_name, 'By Uuid');

      const ios = await accessToken(server, app);
      const changed = ok(await call(server, ios, 'user/change', { username: 'dave', password: 'dave-password', new_password: 'dave-password-2', email: 'dave@example.com', extra_info: '{"a":1}' }));
      assert.equal(changed.email, 'dave@example.com');
      assert.equal(changed.extra_info, '{"a":1}');
      ok(await call(server, await accessToken(server, app), 'user/uuid', { username: 'dave', password: 'dave-password-2' }));
      failed(await call(server, await accessToken(server, app), 'user/uuid', { username: 'dave', password: 'dave-password' }));

      // Android: user/new with no body, then user/change naming nobody changes that user.
      const android = await newDevice(server, app);
      const mine = ok(await call(server, android.token, 'user/change', { display_name: 'Android', extra_info: '{"os":"android"}' }));
      assert.equal(mine.name, android.user.name);
      assert.equal(mine.uuid, android.user.uuid);
      assert.equal(mine.display_name, 'Android');
      // Its new password then works from anywhere.
      ok(await call(server, android.token, 'user/change', { new_password: 'android-password' }));
      ok(await call(server, await accessToken(server, app), 'user/uuid', { username: android.user.name, password: 'android-password' }));
    });

    it('user/change naming nobody from a fresh token, a wrong password, an unknown uuid or another client: success false, nothing changed', async () => {
      const victim = await newDevice(server, app, { username: 'erin', password: 'erin-password' });
      const fresh = await accessToken(server, app);
      const otherToken = await accessToken(server, other);
      const before = await server.snapshot();
      failed(await call(server, fresh, 'user/change', { display_name: 'Hijacked' }), /uuid|username/);
      failed(await call(server, fresh, 'user/change', { username: 'erin', password: 'wrong-password', display_name: 'Hijacked' }));
      failed(await call(server, fresh, 'user/change', { uuid: '00000000-0000-4000-8000-000000000000', display_name: 'Hijacked' }), /uuid/);
      failed(await call(server, fresh, 'user/change', { uuid: 'not-a-uuid', display_name: 'Hijacked' }), /uuid/);
      failed(await call(server, otherToken, 'user/change', { uuid: victim.user.uuid, display_name: 'Hijacked' }));
      failed(await call(server, otherToken, 'user/change', { username: 'erin', password: 'erin-password', display_name: 'Hijacked' }));
      // A bad value changes nothing either, even for the right user.
      failed(await call(server, victim.token, 'user/change', { display_name: 'Fine', email: 'not-an-email' }), /email/);
      failed(await call(server, victim.token, 'user/change', { display_name: 'Fine', new_password: 'short' }), /new_password/);
      failed(await call(server, victim.token, 'user/change', { email: 'dave@example.com' }), /email/);
      assert.equal(await server.snapshot(), before);
    });

    it("users are scoped to their client: another client's uuid starts nothing and the same username is free there", async () => {
      const mine = await newDevice(server, app);
      const theirs = await newDevice(server, other, { username: 'alice' });
      assert.equal(theirs.user.name, 'alice');
      assert.equal(theirs.user.app, 'other-app');
      const before = await server.snapshot();
      failed(await call(server, theirs.token, 'stream/start', { uuid: mine.user.uuid }), /uuid/);
      assert.equal(await server.snapshot(), before);
    });
  });
}
