/**
 * Kickflip's OAuth2: the client_credentials grant at /o/token (with and without the slash),
 * the client authenticated by HTTP Basic or by form fields, RFC 6749 errors, tokens kept by
 * digest only, and 403 for every bad token on an API call (the Android SDK's signal to fetch
 * a new one).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { accessToken, basicAuth, call, failed, newClient, ok, tokenReply, type ClientCredentials } from './support.js';

for (const kind of databaseKinds()) {
  describe(`Kickflip OAuth2 on ${kind}`, () => {
    let server: TestServer;
    let creds: ClientCredentials;
    before(async () => {
      server = await startTestServer(kind, { kickflipTokenTtl: '7200' });
      creds = await newClient(server, 'OAuth App');
    });
    after(() => server?.close());

    it('client_credentials with HTTP Basic answers 200 JSON: access_token, token_type Bearer, expires_in (the setting) and scope', async () => {
      for (const path of ['/o/token/', '/o/token']) {
        const reply = await tokenReply(server, creds, 'basic', path);
        assert.equal(reply.status, 200, reply.text);
        assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
        assert.equal(reply.headers.get('cache-control'), 'no-store');
        assert.deepEqual(Object.keys(reply.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
        assert.equal(reply.json.token_type, 'Bearer');
        assert.equal(reply.json.expires_in, 7200);
        assert.equal(typeof reply.json.scope, 'string');
        assert.match(reply.json.access_token, /^[A-Za-z0-9_-]{40,}$/);
        ok(await call(server, reply.json.access_token, 'search'));
      }
    });

    it('client_id and client_secret in the form body work too, and each request gets its own token', async () => {
      const a = await tokenReply(server, creds, 'form');
      const b = await tokenReply(server, creds, 'form');
      assert.equal(a.status, 200, a.text);
      assert.notEqual(a.json.access_token, b.json.access_token);
      ok(await call(server, a.json.access_token, 'search'));
      ok(await call(server, b.json.access_token, 'search'));
    });

    it('tokens and secrets are stored only as digests', async () => {
      const token = await accessToken(server, creds);
      const snapshot = await server.snapshot();
      assert.ok(!snapshot.includes(token), 'the access token is not stored');
      assert.ok(!snapshot.includes(creds.secret), 'the client secret is not stored');
    });

    it('a wrong secret, an unknown client or no client authentication: 401 invalid_client with a Basic challenge, and nothing stored', async () => {
      const before = await server.snapshot();
      const attempts = [
        await tokenReply(server, { clientId: creds.clientId, secret: 'wrong-secret' }),
        await tokenReply(server, { clientId: creds.clientId, secret: 'wrong-secret' }, 'form'),
        await tokenReply(server, { clientId: 'no-such-client', secret: creds.secret }),
        await server.request('POST', '/o/token/', { rawBody: 'grant_type=client_credentials', contentType: 'application/x-www-form-urlencoded' }),
        await server.request('POST', '/o/token/', { rawBody: 'grant_type=client_credentials', contentType: 'application/x-www-form-urlencoded', headers: { authorization: 'Basic !!!' } }),
      ];
      for (const reply of attempts) {
        assert.equal(reply.status, 401, reply.text);
        assert.equal(reply.json.error, 'invalid_client');
        assert.match(reply.headers.get('www-authenticate') ?? '', /^Basic /);
      }
      assert.equal(await server.snapshot(), before);
    });

    it('a missing or other grant type and two ways of client authentication at once are 400 errors', async () => {
      const before = await server.snapshot();
      const noGrant = await server.request('POST', '/o/token/', { rawBody: '', contentType: 'application/x-www-form-urlencoded', headers: { authorization: basicAuth(creds.clientId, creds.secret) } });
      assert.equal(noGrant.status, 400);
      assert.equal(noGrant.json.error, 'invalid_request');
      const password = await server.request('POST', '/o/token/', {
        rawBody: 'grant_type=password&username=a&password=b',
        contentType: 'application/x-www-form-urlencoded',
        headers: { authorization: basicAuth(creds.clientId, creds.secret) },
      });
      assert.equal(password.status, 400);
      assert.equal(password.json.error, 'unsupported_grant_type');
      const both = await server.request('POST', '/o/token/', {
        rawBody: new URLSearchParams({ grant_type: 'client_credentials', client_id: creds.clientId, client_secret: creds.secret }).toString(),
        contentType: 'application/x-www-form-urlencoded',
        headers: { authorization: basicAuth(creds.clientId, creds.secret) },
      });
      assert.equal(both.status, 400);
      assert.equal(both.json.error, 'invalid_request');
      assert.equal(await server.snapshot(), before);
    });

    it('an API call with a bad, missing or expired token answers 403 with success false and changes nothing', async () => {
      const token = await accessToken(server, creds);
      const before = await server.snapshot();
      const bad = await call(server, 'not-a-token', 'user/new');
      assert.equal(bad.status, 403);
      assert.equal(bad.json.success, false);
      assert.equal(typeof bad.json.reason, 'string');
      const missing = await server.request('POST', '/api/1.2/user/new', { rawBody: 'username=nobody1', contentType: 'application/x-www-form-urlencoded' });
      assert.equal(missing.status, 403);
      // A bad token is 403 whatever the body holds, even an unreadable one.
      const garbage = await server.request('POST', '/api/1.2/user/new', { token: 'nope', rawBody: '{', contentType: 'application/json' });
      assert.equal(garbage.status, 403);
      assert.equal(await server.snapshot(), before);

      await server.running.store.db.updateTable('oauth_tokens').set({ expires_at: '2000-01-01T00:00:00.000Z' }).execute();
      const expired = await call(server, token, 'search');
      assert.equal(expired.status, 403);
    });

    it('a revoked client gets no token and its tokens stop working at once', async () => {
      const other = await newClient(server, 'Doomed App');
      const token = await accessToken(server, other);
      ok(await call(server, token, 'search'));
      await server.running.core.apiClients.revoke(other.clientId);
      assert.equal((await call(server, token, 'search')).status, 403);
      const refused = await tokenReply(server, other);
      assert.equal(refused.status, 401);
      assert.equal(refused.json.error, 'invalid_client');
      // The other client is unaffected.
      ok(await call(server, await accessToken(server, creds), 'search'));
    });

    it('unknown endpoints answer 404 and GET on an endpoint 405, in Kickflip style', async () => {
      const token = await accessToken(server, creds);
      const unknown = await call(server, token, 'stream/nope');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.success, false);
      const get = await server.request('GET', '/api/1.2/search/', { token });
      assert.equal(get.status, 405);
      assert.equal(get.json.success, false);
      failed(await call(server, token, 'stream/info', { stream_id: 'nope' }), /stream/i);
    });
  });
}
