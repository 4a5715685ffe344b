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
  assertExactError,
  assertInvalid,
  assertRigError,
  assertSuccess,
  assertUndecodable,
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

      it('answers a body failing rig\'s validator with 1005 and details keyed by Go field, in rule order', async () => {
        const before = await server.snapshot();
        // rig's userCreateReq: Username `min=3,max=64`, Email `min=3,max=64`, Password `min=8`.
        const cases: [Record<string, unknown>, Record<string, string[]>][] = [
          [{}, { Email: ['less than min'], Password: ['less than min'], Username: ['less than min'] }],
          [{ username: uniqueName(), password: PASSWORD }, { Email: ['less than min'] }],
          [{ password: PASSWORD, email: 'a@b.net' }, { Username: ['less than min'] }],
          [{ username: uniqueName(), email: 'a@b.net' }, { Password: ['less than min'] }],
          [{ username: '', password: PASSWORD, email: 'a@b.net' }, { Username: ['less than min'] }],
          [{ username: uniqueName(), password: '', email: '' }, { Email: ['less than min'], Password: ['less than min'] }],
          [{ username: 'ab', password: PASSWORD, email: 'a@b.net' }, { Username: ['less than min'] }],
          [{ username: 'y'.repeat(65), password: PASSWORD, email: 'a@b.net' }, { Username: ['greater than max'] }],
          [{ username: uniqueName(), password: '1234567', email: 'a@b.net' }, { Password: ['less than min'] }],
          [{ username: uniqueName(), password: PASSWORD, email: 'ab' }, { Email: ['less than min'] }],
          [{ username: uniqueName(), password: PASSWORD, email: 'e'.repeat(60) + '@example.net' }, { Email: ['greater than max'] }],
          [{ username: 'ab', password: 'short', email: 'no' }, { Email: ['less than min'], Password: ['less than min'], Username: ['less than min'] }],
          // A JSON null leaves the field empty, as Go's decoder does.
          [{ username: null, password: PASSWORD, email: 'a@b.net' }, { Username: ['less than min'] }],
          // Lengths are counted in bytes, as Go's len(): 33 two-byte letters are 66 bytes.
          [{ username: 'é'.repeat(33), password: PASSWORD, email: 'a@b.net' }, { Username: ['greater than max'] }],
        ];
        for (const [body, details] of cases) {
          const r = await server.request('POST', '/accounts/', { body });
          assertInvalid(r, details);
        }
        assert.equal(await server.snapshot(), before);
      });

      it('answers a JSON null body as an empty struct: every field fails validation', async () => {
        const r = await server.request('POST', '/accounts/', { rawBody: 'null', contentType: 'application/json' });
        assertInvalid(r, { Email: ['less than min'], Password: ['less than min'], Username: ['less than min'] });
      });

      it('refuses a field of the wrong JSON type with 1005 and no details', async () => {
        const before = await server.snapshot();
        const cases: Record<string, unknown>[] = [
          { username: 12345, password: PASSWORD, email: 'a@b.net' },
          { username: uniqueName(), password: 123456789, email: 'a@b.net' },
          { username: uniqueName(), password: PASSWORD, email: ['a@b.net'] },
          { username: uniqueName(), password: PASSWORD, email: { address: 'a@b.net' } },
          { username: true, password: PASSWORD, email: 'a@b.net' },
          // Wrong type and a failing rule: the decoder's refusal comes first.
          { username: 'ab', password: false, email: '' },
        ];
        for (const body of cases) assertUndecodable(await server.request('POST', '/accounts/', { body }));
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a body that is a JSON array, a string, a number, a boolean, empty or malformed with 1005 and no details', async () => {
        const before = await server.snapshot();
        for (const raw of ['[]', '[{"username":"foo"}]', '"foobar"', '42', 'true', '', '  ', '{', '{"username": "foo",}']) {
          const r = await server.request('POST', '/accounts/', { rawBody: raw, contentType: 'application/json' });
          assertUndecodable(r);
        }
        assertUndecodable(await rawRequest(server, 'POST', '/accounts/', { headers: { 'content-length': '0' } }));
        assert.equal(await server.snapshot(), before);
      });

      it('accepts any email of 3 to 64 bytes, as rig only checks its length', async () => {
        for (const email of [`ec${process.pid}${Date.now() % 1000}`, `not an email ${uniqueName('')}`, `x${uniqueName('')}@`]) {
          const username = uniqueName('anymail');
          const r = await server.request('POST', '/accounts/', { body: { username, password: PASSWORD, email } });
          assertSuccess(r, 'User created', { userID: r.json?.payload?.userID, username, email });
          assert.equal((await server.running.core.accounts.get(r.json.payload.userID))?.email, email);
        }
      });

      it('matches JSON keys to fields case-insensitively and ignores unknown keys, as Go\'s decoder does', async () => {
        const username = uniqueName('cased');
        const email = `${username}@example.net`;
        const r = await server.request('POST', '/accounts/', { body: { USERNAME: username, Password: PASSWORD, eMail: email, extra: [1, 2] } });
        assertSuccess(r, 'User created', { userID: r.json?.payload?.userID, username, email });
      });

      it('answers the platform\'s own account rules in the same shape (a username with a space)', async () => {
        const before = await server.snapshot();
        const r = await server.request('POST', '/accounts/', { body: { username: `a b${uniqueName('')}`, password: PASSWORD, email: 'sp@example.net' } });
        assertInvalid(r, { Username: ['must not contain spaces or control characters'] });
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a taken username with 1006 "Cannot create user account." and no details, changing nothing', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        const r = await server.request('POST', '/accounts/', {
          body: { username: user.username, password: PASSWORD, email: `${uniqueName('other')}@example.net` },
        });
        assertExactError(r, 400, { message: 'Cannot create user account.', errorCode: 1006 });
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a registered email with 1006 and no details, comparing emails case-insensitively', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        for (const email of [user.email, user.email.toUpperCase(), user.email.replace(/^./, (c) => c.toUpperCase())]) {
          const r = await server.request('POST', '/accounts/', { body: { username: uniqueName('other'), password: PASSWORD, email } });
          assertExactError(r, 400, { message: 'Cannot create user account.', errorCode: 1006 });
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
          assertExactError(r, 400, { message: 'Cannot create user account.', errorCode: 1006 });
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

      it('validates the body before looking at the credentials: 1005 with details, never 1004 or 401', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        // rig's userAuthReq: Username `nonzero`, Password `nonzero,min=8`.
        const cases: [Record<string, unknown>, Record<string, string[]>][] = [
          [{}, { Password: ['zero value', 'less than min'], Username: ['zero value'] }],
          [{ username: 'foobar' }, { Password: ['zero value', 'less than min'] }],
          [{ username: 'foobar', password: '' }, { Password: ['zero value', 'less than min'] }],
          [{ password: PASSWORD }, { Username: ['zero value'] }],
          // A password too short to be anyone's is refused as input, even for a real user.
          [{ username: user.username, password: 'short' }, { Password: ['less than min'] }],
          [{ username: uniqueName('ghost'), password: '1234567' }, { Password: ['less than min'] }],
        ];
        for (const [body, details] of cases) {
          assertInvalid(await server.request('POST', '/accounts/auth/local', { body }), details);
        }
        assertUndecodable(await server.request('POST', '/accounts/auth/local', { body: { username: 42, password: PASSWORD } }));
        assertUndecodable(await server.request('POST', '/accounts/auth/local', { rawBody: '{"username":', contentType: 'application/json' }));
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

      it('refuses a body failing rig\'s validator with 1005 and details keyed by Go field', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        // rig's userPasswordReq: OldPassword `min=8`, NewPassword `min=8`.
        const cases: [Record<string, unknown>, Record<string, string[]>][] = [
          [{}, { NewPassword: ['less than min'], OldPassword: ['less than min'] }],
          [{ oldPassword: PASSWORD, newPassword: 'short' }, { NewPassword: ['less than min'] }],
          [{ oldPassword: PASSWORD, newPassword: '' }, { NewPassword: ['less than min'] }],
          [{ oldPassword: 'short', newPassword: 'Ar3YouComingToTheTree' }, { OldPassword: ['less than min'] }],
        ];
        for (const [body, details] of cases) {
          assertInvalid(await server.request('POST', '/accounts/password', { token: user.token, body }), details);
        }
        assertUndecodable(await server.request('POST', '/accounts/password', { token: user.token, body: { oldPassword: PASSWORD, newPassword: 12345678 } }));
        assertUndecodable(await server.request('POST', '/accounts/password', { token: user.token, rawBody: '[]', contentType: 'application/json' }));
        assert.equal(await server.snapshot(), before);
      });

      it('checks the token before the body, as rig\'s middleware does', async () => {
        const r = await server.request('POST', '/accounts/password', { rawBody: '{', contentType: 'application/json' });
        assertRigError(r, 401, 1003, { message: BEARER_MESSAGE });
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

      it('refuses to invite an email that is some user\'s username with 1006, as rig looks the email up among usernames', async () => {
        const user = await newUser(server, 'inviter');
        const other = await newUser(server, 'member');
        const before = await server.snapshot();
        const r = await server.request('POST', '/accounts/invite', { token: user.token, body: { email: other.username } });
        assertExactError(r, 400, { message: 'Email is already registered', errorCode: 1006 });
        assert.equal(await server.snapshot(), before);
        // rig's lookup is by username only: a registered email, or a username in another case, gets an invite.
        for (const email of [other.email, other.username.toUpperCase()]) {
          const invited = await server.request('POST', '/accounts/invite', { token: user.token, body: { email } });
          assert.equal(invited.status, 200, invited.text);
          assert.equal(invited.json.payload.email, email);
        }
      });

      it('needs a user token to invite (1003) before anything else, and a non-empty email (1005 with details)', async () => {
        const user = await newUser(server, 'inviter');
        assertRigError(await server.request('POST', '/accounts/invite', { body: { email: 'friend@example.net' } }), 401, 1003, { message: BEARER_MESSAGE });
        assertRigError(await server.request('POST', '/accounts/invite', { body: {} }), 401, 1003, { message: BEARER_MESSAGE });
        // rig's userInviteReq: Email `nonzero`, nothing else.
        assertInvalid(await server.request('POST', '/accounts/invite', { token: user.token, body: {} }), { Email: ['zero value'] });
        assertInvalid(await server.request('POST', '/accounts/invite', { token: user.token, body: { email: '' } }), { Email: ['zero value'] });
        assertUndecodable(await server.request('POST', '/accounts/invite', { token: user.token, body: { email: 7 } }));
        const anyText = await server.request('POST', '/accounts/invite', { token: user.token, body: { email: 'not an email' } });
        assert.equal(anyText.status, 200, anyText.text);
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
        // rig's userInviteVerifyReq: Email `nonzero`, InviteToken `nonzero`.
        assertInvalid(await server.request('POST', '/accounts/invite/verify', { body: { email } }), { InviteToken: ['zero value'] });
        assertInvalid(await server.request('POST', '/accounts/invite/verify', { body: {} }), { Email: ['zero value'], InviteToken: ['zero value'] });
        assertInvalid(await server.request('POST', '/accounts/invite/verify', { body: { email, inviteToken: null } }), { InviteToken: ['zero value'] });
        assertUndecodable(await server.request('POST', '/accounts/invite/verify', { body: { email, inviteToken: 5 } }));
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
