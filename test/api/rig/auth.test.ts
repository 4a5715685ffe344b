/**
 * rig API v1, authorization: the `Authorization: Bearer <jwt>` header and the JWTs it
 * carries. Tokens are minted here with the test secret so that each one differs from a good
 * token in exactly one way; a good minted token is checked to work first.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  assertRigError,
  assertSuccess,
  BEARER_MESSAGE,
  mintToken,
  mintUnsecuredToken,
  newStream,
  newUser,
  rawRequest,
  type RigStreamJson,
  type User,
} from './support.js';

for (const kind of databaseKinds()) {
  describe(`rig authorization on ${kind}`, () => {
    let server: TestServer;
    let user: User;
    let stream: RigStreamJson;
    before(async () => {
      server = await startTestServer(kind);
      user = await newUser(server, 'authz');
      stream = await newStream(server, user);
    });
    after(() => server.close());

    /** Every route that needs a user, as [method, path, body]. */
    function restrictedRoutes(): [string, string, unknown][] {
      return [
        ['GET', '/streams/', undefined],
        ['POST', '/streams/', undefined],
        ['GET', `/streams/${stream.id}`, undefined],
        ['POST', `/streams/${stream.id}/destination`, { service: 'YouTube', streamKey: 'abc' }],
        ['POST', `/streams/${stream.id}/changeKey`, undefined],
        ['POST', '/accounts/password', { oldPassword: user.password, newPassword: 'An0therPassword' }],
        ['POST', '/accounts/invite', { email: 'friend@example.net' }],
      ];
    }

    /** Sends `authorization` (raw header value, or none) to every restricted route; all must be 1003 and change nothing. */
    async function assertRefusedEverywhere(authorization: string | undefined, message?: string): Promise<void> {
      const before = await server.snapshot();
      for (const [method, path, body] of restrictedRoutes()) {
        const r = await server.request(method, path, {
          ...(body !== undefined ? { body } : {}),
          ...(authorization !== undefined ? { headers: { authorization } } : {}),
        });
        assertRigError(r, 401, 1003, message === undefined ? {} : { message });
      }
      assert.equal(await server.snapshot(), before);
    }

    it('accepts a token minted with the server\'s secret and rig\'s claims (the baseline of this file)', async () => {
      const token = await mintToken({ iss: user.id, sub: user.username });
      const r = await server.request('GET', `/streams/${stream.id}`, { token });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.payload.id, stream.id);
    });

    it('refuses a missing Authorization header with 1003 and rig\'s Bearer message', async () => {
      await assertRefusedEverywhere(undefined, BEARER_MESSAGE);
    });

    it('refuses other schemes and malformed Bearer headers with 1003', async () => {
      for (const header of ['Token x', `Token ${user.token}`, `Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer', 'Bearer ', user.token, `Bearer ${user.token} extra`]) {
        await assertRefusedEverywhere(header, BEARER_MESSAGE);
      }
    });

    it('never takes a cookie as credentials, even one holding a valid token on a cross-origin request', async () => {
      // rig's CORS reflects any Origin with credentials allowed: that is safe only while no
      // cookie (a dashboard session or anything else) ever authenticates a rig route.
      const cookie = ['session', 'sid', 'token', 'authToken', 'jwt', 'streamdelta_session']
        .map((name) => `${name}=${user.token}`)
        .concat(`Authorization=Bearer%20${user.token}`)
        .join('; ');
      const before = await server.snapshot();
      for (const [method, path, body] of restrictedRoutes()) {
        const r = await rawRequest(server, method, path, {
          headers: { cookie, origin: 'https://evil.example', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        assertRigError(r, 401, 1003, { message: BEARER_MESSAGE });
      }
      assert.equal(await server.snapshot(), before);
    });

    it('refuses a token signed with another secret', async () => {
      const token = await mintToken({ iss: user.id, sub: user.username, secret: 'another-secret-another-secret-0123456789' });
      await assertRefusedEverywhere(`Bearer ${token}`, 'Invalid credentials');
    });

    it('refuses a token whose signature was tampered with or whose claims were swapped', async () => {
      const [header, payload, signature] = user.token.split('.') as [string, string, string];
      const other = await newUser(server, 'victim');
      const otherPayload = other.token.split('.')[1]!;
      // The other user's claims under this user's signature.
      await assertRefusedEverywhere(`Bearer ${header}.${otherPayload}.${signature}`, 'Invalid credentials');
      // A flipped signature character.
      const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
      await assertRefusedEverywhere(`Bearer ${header}.${payload}.${flipped}`, 'Invalid credentials');
      await assertRefusedEverywhere(`Bearer ${header}.${payload}.`, 'Invalid credentials');
      await assertRefusedEverywhere('Bearer not.a.jwt', 'Invalid credentials');
    });

    it('refuses an expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await mintToken({ iss: user.id, sub: user.username, exp: now - 60 });
      await assertRefusedEverywhere(`Bearer ${token}`, 'Invalid credentials');
    });

    it('refuses a token without an expiry', async () => {
      const token = await mintToken({ iss: user.id, sub: user.username, exp: undefined });
      await assertRefusedEverywhere(`Bearer ${token}`, 'Invalid credentials');
    });

    it('refuses a token for another audience, or none', async () => {
      for (const aud of ['rig.example.com', 'xplex.me', undefined]) {
        const token = await mintToken({ iss: user.id, sub: user.username, aud });
        await assertRefusedEverywhere(`Bearer ${token}`, 'Invalid credentials');
      }
    });

    it('refuses a token of another kind (an invite token, a missing ist)', async () => {
      for (const ist of ['invite', 'agent', undefined]) {
        const token = await mintToken({ ist, iss: user.id, sub: user.username });
        await assertRefusedEverywhere(`Bearer ${token}`, 'Invalid credentials');
      }
      // A real invite token, issued by the server itself.
      const invite = await server.request('POST', '/accounts/invite', { token: user.token, body: { email: 'invited@example.net' } });
      assert.equal(invite.status, 200, invite.text);
      await assertRefusedEverywhere(`Bearer ${invite.json.payload.token}`, 'Invalid credentials');
    });

    it('refuses an unsigned token (alg: none)', async () => {
      await assertRefusedEverywhere(`Bearer ${mintUnsecuredToken(user.id, user.username)}`, 'Invalid credentials');
    });

    it('refuses a well-formed token for an account that does not exist', async () => {
      const token = await mintToken({ iss: randomUUID(), sub: 'nobody' });
      await assertRefusedEverywhere(`Bearer ${token}`, 'Invalid credentials');
    });

    it('refuses a token whose issuer is not an account id', async () => {
      for (const iss of [user.username, 'not-a-uuid', '']) {
        const token = await mintToken({ iss, sub: user.username });
        await assertRefusedEverywhere(`Bearer ${token}`, 'Invalid credentials');
      }
    });

    it('takes the account from the token\'s issuer: another user\'s id gives their streams, not the caller\'s', async () => {
      const other = await newUser(server, 'issuer');
      // Signed with the server's secret for `other` but naming this user in `sub`: iss decides.
      const token = await mintToken({ iss: other.id, sub: user.username });
      const r = await server.request('GET', '/streams/', { token });
      assertSuccess(r, 'Stream list for user', []);
      const detail = await server.request('GET', `/streams/${stream.id}`, { token });
      assertRigError(detail, 400, 1005);
    });
  });
}
