/**
 * rig API v1, Accounts: sign-up, local login, password change and the undocumented invite
 * routes, with their validation and conflict errors.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  assertRigError,
  assertSuccess,
  BEARER_MESSAGE,
  JWT_SHAPE,
  newUser,
  PASSWORD,
  rawRequest,
  RIG_AUDIENCE,
  uniqueName,
  UUID_V4,
} from './support.js';

for (const kind of databaseKinds()) {
  describe(`rig accounts on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(() => server.close());

    describe('POST /accounts/ (create account)', () => {
      it('creates a user and answers {userID, username, email} under "User created"', async () => {
        const username = uniqueName('foobar');
        const email = `${username}@fancycompany.net`;
        const r = await server.request('POST', '/accounts/', { body: { username, password: PASSWORD, email } });
        assert.equal(r.status, 200, r.text);
        const userID = r.json.payload.userID;
        assert.match(userID, UUID_V4);
        assertSuccess(r, 'User created', { userID, username, email });
        const account = await server.running.core.accounts.get(userID);
        assert.equal(account?.username, username);
        assert.equal(account?.email, email);
      });

      it('gives every account a different id', async () => {
        const a = await newUser(server);
        const b = await newUser(server);
        assert.notEqual(a.id, b.id);
      });

      it('answers the same at /accounts without the trailing slash, with no redirect', async () => {
        const username = uniqueName('noslash');
        const email = `${username}@example.net`;
        // node:http does not follow redirects, so a 301/308 to /accounts/ would show here.
        const r = await rawRequest(server, 'POST', '/accounts', {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password: PASSWORD, email }),
        });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers.get('location'), null);
        assertSuccess(r, 'User created', { userID: r.json.payload.userID, username, email });
      });

      it('accepts a username of exactly 3 and of exactly 64 characters', async () => {
        for (const username of ['a' + uniqueName('').slice(-2), 'x'.repeat(64 - 8) + String(Date.now()).slice(-8)]) {
          const r = await server.request('POST', '/accounts/', { body: { username, password: PASSWORD, email: `${uniqueName('e')}@example.net` } });
          assert.equal(r.status, 200, `${username}: ${r.text}`);
          assert.equal(r.json.payload.username, username);
        }
      });

      it('refuses a missing field with 1004 and the names of the missing fields', async () => {
        const before = await server.snapshot();
        const cases: [Record<string, unknown>, string[]][] = [
          [{}, ['username', 'password', 'email']],
          [{ username: uniqueName(), password: PASSWORD }, ['email']],
          [{ password: PASSWORD, email: 'a@b.net' }, ['username']],
          [{ username: uniqueName(), email: 'a@b.net' }, ['password']],
          // An empty string is as good as absent.
          [{ username: '', password: PASSWORD, email: 'a@b.net' }, ['username']],
          [{ username: uniqueName(), password: '', email: '' }, ['password', 'email']],
        ];
        for (const [body, missing] of cases) {
          const r = await server.request('POST', '/accounts/', { body });
          assertRigError(r, 400, 1004, { details: missing });
        }
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a field of the wrong JSON type with 1005', async () => {
        const before = await server.snapshot();
        const cases: Record<string, unknown>[] = [
          { username: 12345, password: PASSWORD, email: 'a@b.net' },
          { username: uniqueName(), password: 123456789, email: 'a@b.net' },
          { username: uniqueName(), password: PASSWORD, email: ['a@b.net'] },
          { username: uniqueName(), password: PASSWORD, email: { address: 'a@b.net' } },
          { username: true, password: PASSWORD, email: 'a@b.net' },
        ];
        for (const body of cases) {
          const r = await server.request('POST', '/accounts/', { body });
          assertRigError(r, 400, 1005, { anyDetails: true });
          const field = Object.entries(body).find(([, v]) => typeof v !== 'string')![0];
          assert.deepEqual(Object.keys(r.json.details), [field], r.text);
        }
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a body that is a JSON array, null, a string or a number with 1005', async () => {
        const before = await server.snapshot();
        for (const raw of ['[]', '[{"username":"foo"}]', 'null', '"foobar"', '42']) {
          const r = await server.request('POST', '/accounts/', { rawBody: raw, contentType: 'application/json' });
          assertRigError(r, 400, 1005);
        }
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a username shorter than 3 or longer than 64 characters with 1005 naming the field', async () => {
        const before = await server.snapshot();
        for (const username of ['ab', 'x', 'y'.repeat(65)]) {
          const r = await server.request('POST', '/accounts/', { body: { username, password: PASSWORD, email: 'ok@example.net' } });
          assertRigError(r, 400, 1005, { anyDetails: true });
          assert.deepEqual(Object.keys(r.json.details), ['username']);
          assert.equal(typeof r.json.details.username, 'string');
        }
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a password shorter than 8 characters with 1005 naming the field', async () => {
        const before = await server.snapshot();
        for (const password of ['1234567', 'a']) {
          const r = await server.request('POST', '/accounts/', { body: { username: uniqueName(), password, email: 'ok@example.net' } });
          assertRigError(r, 400, 1005, { anyDetails: true });
          assert.deepEqual(Object.keys(r.json.details), ['password']);
        }
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a malformed email with 1005 naming the field', async () => {
        const before = await server.snapshot();
        for (const email of ['not-an-email', 'a b@example.net', 'x@', '@y', 'e'.repeat(60) + '@example.net']) {
          const r = await server.request('POST', '/accounts/', { body: { username: uniqueName(), password: PASSWORD, email } });
          assertRigError(r, 400, 1005, { anyDetails: true });
          assert.deepEqual(Object.keys(r.json.details), ['email'], `${email}: ${r.text}`);
        }
        assert.equal(await server.snapshot(), before);
      });

      it('names every invalid field at once', async () => {
        const r = await server.request('POST', '/accounts/', { body: { username: 'ab', password: 'short', email: 'nope' } });
        assertRigError(r, 400, 1005, { anyDetails: true });
        assert.deepEqual(Object.keys(r.json.details).sort(), ['email', 'password', 'username']);
      });

      it('refuses a taken username with 1006 and changes nothing', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        const r = await server.request('POST', '/accounts/', {
          body: { username: user.username, password: PASSWORD, email: `${uniqueName('other')}@example.net` },
        });
        assertRigError(r, 400, 1006, { message: 'Cannot create user account.', details: { username: 'is already taken' } });
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a registered email with 1006, comparing emails case-insensitively', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        for (const email of [user.email, user.email.toUpperCase(), user.email.replace(/^./, (c) => c.toUpperCase())]) {
          const r = await server.request('POST', '/accounts/', { body: { username: uniqueName('other'), password: PASSWORD, email } });
          assertRigError(r, 400, 1006, { message: 'Cannot create user account.', details: { email: 'is already registered' } });
        }
        assert.equal(await server.snapshot(), before);
      });

      it('lets only one of two simultaneous sign-ups with the same username through', async () => {
        const username = uniqueName('race');
        const replies = await Promise.all(
          [1, 2, 3].map((n) =>
            server.request('POST', '/accounts/', { body: { username, password: PASSWORD, email: `${username}-${n}@example.net` } }),
          ),
        );
        assert.deepEqual(replies.map((r) => r.status).sort(), [200, 400, 400]);
        for (const r of replies.filter((x) => x.status !== 200)) {
          assertRigError(r, 400, 1006, { message: 'Cannot create user account.', maybeDetails: true });
        }
        const login = await server.request('POST', '/accounts/auth/local', { body: { username, password: PASSWORD } });
        assert.equal(login.status, 200, login.text);
      });
    });

    describe('POST /accounts/auth/local (authenticate)', () => {
      it('answers {username, token} under "Authentication successful" with a rig user JWT', async () => {
        const username = uniqueName('login');
        const created = await server.request('POST', '/accounts/', { body: { username, password: PASSWORD, email: `${username}@example.net` } });
        const userID = created.json.payload.userID as string;
        const r = await server.request('POST', '/accounts/auth/local', { body: { username, password: PASSWORD } });
        assert.equal(r.status, 200, r.text);
        const token = r.json.payload.token as string;
        assert.match(token, JWT_SHAPE);
        assertSuccess(r, 'Authentication successful', { username, token });

        assert.deepEqual(decodeProtectedHeader(token), { alg: 'HS256', typ: 'JWT' });
        const claims = decodeJwt(token);
        assert.equal(claims.ist, 'user');
        assert.equal(claims.iss, userID);
        assert.equal(claims.sub, username);
        assert.equal(claims.aud, RIG_AUDIENCE);
        assert.equal(typeof claims.iat, 'number');
        // 28 days, as rig's tokens.
        assert.equal(claims.exp! - claims.iat!, 28 * 24 * 3600);
      });

      it('gives a token that opens the restricted routes', async () => {
        const user = await newUser(server);
        const r = await server.request('GET', '/streams/', { token: user.token });
        assertSuccess(r, 'Stream list for user', []);
      });

      it('refuses a wrong password and an unknown user alike with 1003', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        const wrong = await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: 'Wr0ngPassword!' } });
        assertRigError(wrong, 401, 1003, { message: 'Invalid credentials' });
        const unknown = await server.request('POST', '/accounts/auth/local', { body: { username: uniqueName('ghost'), password: PASSWORD } });
        assertRigError(unknown, 401, 1003, { message: 'Invalid credentials' });
        // Usernames are not matched case-insensitively.
        const cased = await server.request('POST', '/accounts/auth/local', { body: { username: user.username.toUpperCase(), password: PASSWORD } });
        assertRigError(cased, 401, 1003);
        assert.equal(await server.snapshot(), before);
      });

      it('refuses missing fields with 1004 and wrong types with 1005', async () => {
        const before = await server.snapshot();
        assertRigError(await server.request('POST', '/accounts/auth/local', { body: {} }), 400, 1004, { details: ['username', 'password'] });
        assertRigError(await server.request('POST', '/accounts/auth/local', { body: { username: 'foobar' } }), 400, 1004, { details: ['password'] });
        assertRigError(await server.request('POST', '/accounts/auth/local', { body: { username: 'foobar', password: '' } }), 400, 1004, {
          details: ['password'],
        });
        const typed = await server.request('POST', '/accounts/auth/local', { body: { username: 42, password: PASSWORD } });
        assertRigError(typed, 400, 1005, { anyDetails: true });
        assert.deepEqual(Object.keys(typed.json.details), ['username']);
        assert.equal(await server.snapshot(), before);
      });
    });

    describe('POST /accounts/password (change password)', () => {
      it('answers {username} under "User password changed"; the new password works and the old one does not', async () => {
        const user = await newUser(server);
        const newPassword = 'Ar3YouComingToTheTree';
        const r = await server.request('POST', '/accounts/password', { token: user.token, body: { oldPassword: PASSWORD, newPassword } });
        assertSuccess(r, 'User password changed', { username: user.username });

        const withNew = await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: newPassword } });
        assert.equal(withNew.status, 200, withNew.text);
        assert.equal(withNew.json.payload.username, user.username);
        const withOld = await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: PASSWORD } });
        assertRigError(withOld, 401, 1003);
      });

      it('refuses a wrong old password with 1007 and keeps the password', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        const r = await server.request('POST', '/accounts/password', {
          token: user.token,
          body: { oldPassword: 'NotMyPassword1', newPassword: 'Ar3YouComingToTheTree' },
        });
        assertRigError(r, 400, 1007, { message: 'Cannot update user password' });
        assert.equal(await server.snapshot(), before);
        const login = await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: PASSWORD } });
        assert.equal(login.status, 200);
      });

      it('refuses a new password shorter than 8 characters with 1005 naming newPassword', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        const r = await server.request('POST', '/accounts/password', { token: user.token, body: { oldPassword: PASSWORD, newPassword: 'short' } });
        assertRigError(r, 400, 1005, { anyDetails: true });
        assert.deepEqual(Object.keys(r.json.details), ['newPassword']);
        assert.equal(await server.snapshot(), before);
      });

      it('refuses missing fields with 1004', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        assertRigError(await server.request('POST', '/accounts/password', { token: user.token, body: {} }), 400, 1004, {
          details: ['oldPassword', 'newPassword'],
        });
        assertRigError(await server.request('POST', '/accounts/password', { token: user.token, body: { oldPassword: PASSWORD, newPassword: '' } }), 400, 1004, {
          details: ['newPassword'],
        });
        assert.equal(await server.snapshot(), before);
      });

      it('needs a user token (1003)', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        const r = await server.request('POST', '/accounts/password', { body: { oldPassword: PASSWORD, newPassword: 'Ar3YouComingToTheTree' } });
        assertRigError(r, 401, 1003, { message: BEARER_MESSAGE });
        const forged = await server.request('POST', '/accounts/password', {
          token: user.token.slice(0, -4) + (user.token.endsWith('AAAA') ? 'BBBB' : 'AAAA'),
          body: { oldPassword: PASSWORD, newPassword: 'Ar3YouComingToTheTree' },
        });
        assertRigError(forged, 401, 1003);
        assert.equal(await server.snapshot(), before);
      });
    });

    describe('POST /accounts/invite and /accounts/invite/verify', () => {
      it('issues an invite token for an unregistered email, which verifies back to that email', async () => {
        const user = await newUser(server, 'inviter');
        const email = `${uniqueName('invitee')}@example.net`;
        const r = await server.request('POST', '/accounts/invite', { token: user.token, body: { email } });
        assert.equal(r.status, 200, r.text);
        const token = r.json.payload.token as string;
        assert.match(token, JWT_SHAPE);
        assert.deepEqual(Object.keys(r.json), ['message', 'payload']);
        assert.equal(typeof r.json.message, 'string');
        assert.equal(r.text, JSON.stringify({ message: r.json.message, payload: { email, token } }));

        const claims = decodeJwt(token);
        assert.equal(claims.ist, 'invite');
        assert.equal(claims.iss, user.id);
        assert.equal(claims.sub, email);
        assert.equal(claims.aud, RIG_AUDIENCE);
        assert.equal(claims.exp! - claims.iat!, 14 * 24 * 3600);

        const verified = await server.request('POST', '/accounts/invite/verify', { body: { email, inviteToken: token } });
        assert.equal(verified.status, 200, verified.text);
        assert.equal(verified.text, JSON.stringify({ message: verified.json.message, payload: { email } }));
        assert.equal(typeof verified.json.message, 'string');
      });

      it('refuses to invite a registered email with 1006 "Email is already registered", whatever its case', async () => {
        const user = await newUser(server, 'inviter');
        const other = await newUser(server, 'member');
        for (const email of [other.email, other.email.toUpperCase()]) {
          const r = await server.request('POST', '/accounts/invite', { token: user.token, body: { email } });
          assertRigError(r, 400, 1006, { message: 'Email is already registered' });
        }
      });

      it('needs a user token to invite (1003), a valid email (1005) and an email at all (1004)', async () => {
        const user = await newUser(server, 'inviter');
        assertRigError(await server.request('POST', '/accounts/invite', { body: { email: 'friend@example.net' } }), 401, 1003, { message: BEARER_MESSAGE });
        const bad = await server.request('POST', '/accounts/invite', { token: user.token, body: { email: 'not an email' } });
        assertRigError(bad, 400, 1005, { anyDetails: true });
        assert.deepEqual(Object.keys(bad.json.details), ['email']);
        assertRigError(await server.request('POST', '/accounts/invite', { token: user.token, body: {} }), 400, 1004, { details: ['email'] });
      });

      it('refuses an invite token with another email, a user token, or a garbage token with 1005', async () => {
        const user = await newUser(server, 'inviter');
        const email = `${uniqueName('invitee')}@example.net`;
        const invite = await server.request('POST', '/accounts/invite', { token: user.token, body: { email } });
        const inviteToken = invite.json.payload.token as string;

        const wrongEmail = await server.request('POST', '/accounts/invite/verify', { body: { email: `x${email}`, inviteToken } });
        assertRigError(wrongEmail, 400, 1005);
        const userToken = await server.request('POST', '/accounts/invite/verify', { body: { email, inviteToken: user.token } });
        assertRigError(userToken, 400, 1005);
        const userTokenOwnEmail = await server.request('POST', '/accounts/invite/verify', { body: { email: user.username, inviteToken: user.token } });
        assertRigError(userTokenOwnEmail, 400, 1005);
        const garbage = await server.request('POST', '/accounts/invite/verify', { body: { email, inviteToken: 'not.a.token' } });
        assertRigError(garbage, 400, 1005);
        assertRigError(await server.request('POST', '/accounts/invite/verify', { body: { email } }), 400, 1004, { details: ['inviteToken'] });
      });

      it('does not accept an invite token as a user token', async () => {
        const user = await newUser(server, 'inviter');
        const invite = await server.request('POST', '/accounts/invite', { token: user.token, body: { email: `${uniqueName('i')}@example.net` } });
        const r = await server.request('GET', '/streams/', { token: invite.json.payload.token });
        assertRigError(r, 401, 1003);
      });
    });
  });
}
