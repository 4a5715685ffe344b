/**
 * Old credentials die with a password change (issue 14, item 9). An attacker who learned a
 * user's password has logged in on the side; the user changes the password. Everything the
 * attacker got with the old password stops working at once, in every dialect: rig's JWTs, the
 * Multistreamer token (and the chat socket it opens), Kickflip's uuid and the access tokens of
 * other devices; the user's own new credentials work. Kickfolio API tokens, which an operator
 * issues and a password never reveals, are not sessions and survive.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { databaseKinds } from '../helpers/databases.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertRigError, mintToken, newUser, type User } from '../api/rig/support.js';
import { basic as msBasic } from '../api/multistreamer/support.js';
import { accessToken, call, failed, newClient, ok } from '../api/kickflip/support.js';
import { kf } from '../api/kickfolio/support.js';
import type { AccountId } from '../../src/core/kernel/ids.js';

const NEW_PASSWORD = 'Ar3YouComingToTheTree';

/** The status a chat socket upgrade with this token is answered with (101 when it opens). */
function chatUpgrade(server: TestServer, streamNumber: number, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws/${streamNumber}?token=${token}`);
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    socket.once('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
  });
}

for (const kind of databaseKinds()) {
  describe(`old credentials die with a password change on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(() => server.close());

    it('ends every rig JWT and the Multistreamer token of the account; the new password makes new ones', async () => {
      const user: User = await newUser(server, 'pwchange');
      // The attacker's session, made with the same (stolen) password, and a token of version 0
      // as every account's tokens were before this rule existed.
      const attacker = await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: user.password } });
      assert.equal(attacker.status, 200, attacker.text);
      const attackerJwt = attacker.json.payload.token as string;
      const legacyJwt = await mintToken({ iss: user.id, sub: user.username });
      const msAuth = await server.request('GET', '/api/v1/auth', { headers: { authorization: msBasic(user.username, user.password) } });
      assert.equal(msAuth.status, 200, msAuth.text);
      const oldMsToken = msAuth.json.token as string;
      const stream = await server.request('POST', '/api/v1/stream', { token: oldMsToken, body: { name: 'Password change' } });
      assert.equal(stream.status, 200, stream.text);
      const streamNumber = stream.json.stream.id as number;
      for (const jwt of [user.token, attackerJwt, legacyJwt]) assert.equal((await server.request('GET', '/streams/', { token: jwt })).status, 200);
      assert.equal((await server.request('GET', '/api/v1/profile', { token: oldMsToken })).status, 200);
      assert.equal(await chatUpgrade(server, streamNumber, oldMsToken), 101);

      // A refused change (wrong old password) ends nothing.
      const refused = await server.request('POST', '/accounts/password', { token: user.token, body: { oldPassword: 'not-the-password', newPassword: NEW_PASSWORD } });
      assert.equal(refused.status, 400, refused.text);
      assert.equal((await server.request('GET', '/streams/', { token: attackerJwt })).status, 200);
      assert.equal((await server.request('GET', '/api/v1/profile', { token: oldMsToken })).status, 200);

      const changed = await server.request('POST', '/accounts/password', { token: user.token, body: { oldPassword: user.password, newPassword: NEW_PASSWORD } });
      assert.equal(changed.status, 200, changed.text);

      for (const jwt of [user.token, attackerJwt, legacyJwt]) {
        assertRigError(await server.request('GET', '/streams/', { token: jwt }), 401, 1003);
        assertRigError(await server.request('POST', '/accounts/password', { token: jwt, body: { oldPassword: NEW_PASSWORD, newPassword: 'Ch4ngedByTheAttacker' } }), 401, 1003);
      }
      const msRefused = await server.request('GET', '/api/v1/profile', { token: oldMsToken });
      assert.equal(msRefused.status, 401);
      assert.deepEqual(msRefused.json, { error: 'endpoint requires authorization' });
      assert.equal((await server.request('GET', `/api/v1/stream/${streamNumber}`, { token: oldMsToken })).status, 401);
      assert.equal(await chatUpgrade(server, streamNumber, oldMsToken), 401);
      assert.equal((await server.request('GET', '/api/v1/auth', { headers: { authorization: msBasic(user.username, user.password) } })).status, 401);
      assertRigError(await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: user.password } }), 401, 1003);

      // The owner logs in again with the new password: new credentials that work.
      const login = await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: NEW_PASSWORD } });
      assert.equal(login.status, 200, login.text);
      const streams = await server.request('GET', '/streams/', { token: login.json.payload.token });
      assert.equal(streams.status, 200, streams.text);
      const reauth = await server.request('GET', '/api/v1/auth', { headers: { authorization: msBasic(user.username, NEW_PASSWORD) } });
      assert.equal(reauth.status, 200, reauth.text);
      assert.match(reauth.json.token, /^[0-9A-F]{20}$/);
      assert.notEqual(reauth.json.token, oldMsToken);
      const again = await server.request('GET', '/api/v1/auth', { headers: { authorization: msBasic(user.username, NEW_PASSWORD) } });
      assert.equal(again.json.token, reauth.json.token, 'the new token is the same on every /auth, as Multistreamer answers');
      const profile = await server.request('GET', '/api/v1/profile', { token: reauth.json.token });
      assert.equal(profile.status, 200, profile.text);
      assert.equal(profile.json.username, user.username);
      assert.equal((await server.request('GET', `/api/v1/stream/${streamNumber}`, { token: reauth.json.token })).status, 200);
      assert.equal(await chatUpgrade(server, streamNumber, reauth.json.token), 101);
    });

    it('leaves the Kickfolio API token working: an operator issued it and no password reveals it', async () => {
      const user = await newUser(server, 'pwkeep');
      const accountId = user.id as AccountId;
      const { token } = await server.running.core.apiTokens.forAccount(accountId);
      const holder = { id: accountId, username: user.username, token };
      assert.equal((await kf(server, 'GET', '/api/apps', { user: holder })).status, 200);
      const changed = await server.request('POST', '/accounts/password', { token: user.token, body: { oldPassword: user.password, newPassword: NEW_PASSWORD } });
      assert.equal(changed.status, 200, changed.text);
      const still = await kf(server, 'GET', '/api/apps', { user: holder });
      assert.equal(still.status, 200, still.text);
    });

    it('gives a Kickflip user a new uuid and unbinds every other device\'s token; the device that changed it goes on', async () => {
      const creds = await newClient(server, 'Password App');
      const phone = await accessToken(server, creds);
      const username = `kfpw${process.pid}`;
      const made = ok(await call(server, phone, 'user/new', { username, password: 'first-password-1' }));
      // The attacker logs in with the stolen password on another device: it gets the uuid and a bound token.
      const thief = await accessToken(server, creds);
      const stolen = ok(await call(server, thief, 'user/uuid', { username, password: 'first-password-1' }));
      assert.equal(stolen.uuid, made.uuid);
      ok(await call(server, thief, 'user/change', { display_name: 'bound' }));

      // The Android SDK's user/change names no user: the token is bound to the one it made.
      const changed = ok(await call(server, phone, 'user/change', { new_password: 'second-password-2' }));
      assert.equal(changed.name, username);
      assert.notEqual(changed.uuid, made.uuid, 'a new uuid replaces the one the old password revealed');

      // The thief's token no longer acts for the user, and the old uuid and password are dead.
      failed(await call(server, thief, 'user/change', { display_name: 'still mine' }));
      failed(await call(server, thief, 'stream/start', { uuid: made.uuid }));
      failed(await call(server, thief, 'user/uuid', { username, password: 'first-password-1' }));
      failed(await call(server, phone, 'stream/start', { uuid: made.uuid }));
      const client = (await server.running.core.apiClients.list()).find((c) => c.clientId === creds.clientId)!;
      assert.equal((await server.running.core.tenantUsers.byUsername(client, username))?.displayName, 'bound', 'the thief changed nothing after the change');

      // The phone that changed it goes on, with and without naming the user.
      ok(await call(server, phone, 'user/change', { display_name: 'mine again' }));
      ok(await call(server, phone, 'stream/start', { uuid: changed.uuid }));
      // The new password logs in anywhere.
      const relogged = ok(await call(server, thief, 'user/uuid', { username, password: 'second-password-2' }));
      assert.equal(relogged.uuid, changed.uuid);
    });
  });
}
