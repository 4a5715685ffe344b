/**
 * Kickfolio API v1, the protocol: authentication (Basic base64(token) with or without a
 * password, the auth_token parameter in the query or the body, rotation), the Accept version,
 * `.json` paths, bodies (JSON wrapped or bare, form fields, xcoder's form under a JSON type),
 * and every protocol error in the document's schema, each changing nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config.js';
import { startServer } from '../../../src/server.js';
import { createTestDatabase, databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { rawRequest } from '../rig/support.js';
import { ACCEPT_V1, assertError, basic, createApp, kf, newUser, PRIVATE_FETCH, type User } from './support.js';

for (const kind of databaseKinds()) {
  describe(`kickfolio protocol on ${kind}`, () => {
    let server: TestServer;
    let user: User;
    before(async () => {
      server = await startTestServer(kind, PRIVATE_FETCH);
      user = await newUser(server);
    });
    after(() => server.close());

    describe('authentication', () => {
      it('accepts Authorization: Basic base64(token), with or without a password such as X', async () => {
        await createApp(server, user, 'Mine');
        for (const authorization of [basic(user.token), basic(user.token, 'X'), basic(user.token, 'anything at all')]) {
          const r = await kf(server, 'GET', '/api/apps', { user: null, headers: { authorization } });
          assert.equal(r.status, 200, r.text);
          assert.ok(r.json.apps.some((a: { name: string }) => a.name === 'Mine'));
        }
        // The Jenkins plugin writes the scheme as given; any case of "Basic" works.
        const lower = await kf(server, 'GET', '/api/apps', { user: null, headers: { authorization: basic(user.token).replace('Basic', 'basic') } });
        assert.equal(lower.status, 200, lower.text);
      });

      it('accepts the auth_token parameter in the query string, a form body or a JSON body', async () => {
        const query = await kf(server, 'GET', `/api/apps?auth_token=${encodeURIComponent(user.token)}`, { user: null });
        assert.equal(query.status, 200, query.text);
        const form = await kf(server, 'POST', '/api/apps', {
          user: null,
          rawBody: `app[name]=Form+App&auth_token=${encodeURIComponent(user.token)}`,
          contentType: 'application/x-www-form-urlencoded',
        });
        assert.equal(form.status, 201, form.text);
        assert.equal(form.json.app.name, 'Form App');
        const json = await kf(server, 'POST', '/api/apps', { user: null, body: { auth_token: user.token, app: { name: 'Json App' } } });
        assert.equal(json.status, 201, json.text);
        assert.equal(json.json.app.user_id, user.id);
      });

      it('asks for credentials when there are none: 401 unauthorized', async () => {
        const before = await server.snapshot();
        assertError(await kf(server, 'GET', '/api/apps', { user: null }), 401, 'unauthorized', 'You need to provide authentication credentials');
        assertError(await kf(server, 'POST', '/api/apps', { user: null, body: { app: { name: 'x' } } }), 401, 'unauthorized');
        assertError(await kf(server, 'GET', '/api/apps?auth_token=', { user: null }), 401, 'unauthorized', 'You need to provide authentication credentials');
        assert.equal(await server.snapshot(), before);
      });

      it('rejects a wrong token, a raw (unencoded) token, another scheme, and a token for no account', async () => {
        const before = await server.snapshot();
        const rejected = 'Your credentials were rejected';
        assertError(await kf(server, 'GET', '/api/apps', { user: null, headers: { authorization: basic('not-a-token') } }), 401, 'unauthorized', rejected);
        assertError(await kf(server, 'GET', '/api/apps', { user: null, headers: { authorization: basic(`${user.token}x`) } }), 401, 'unauthorized', rejected);
        assertError(await kf(server, 'GET', '/api/apps', { user: null, headers: { authorization: `Basic ${user.token}` } }), 401, 'unauthorized', rejected);
        assertError(await kf(server, 'GET', '/api/apps', { user: null, headers: { authorization: `Bearer ${user.token}` } }), 401, 'unauthorized', /must be Basic/);
        assertError(await kf(server, 'GET', `/api/apps?auth_token=${user.token}0`, { user: null }), 401, 'unauthorized', rejected);
        assertError(await kf(server, 'GET', `/api/apps?auth_token=${'a'.repeat(5000)}`, { user: null }), 401, 'unauthorized', rejected);
        assert.equal(await server.snapshot(), before);
      });

      it('stops taking a rotated token at once and takes the new one', async () => {
        const other = await newUser(server);
        const { token } = await server.running.core.apiTokens.forAccount(other.id, { rotate: true });
        assert.notEqual(token, other.token);
        assertError(await kf(server, 'GET', '/api/apps', { user: other }), 401, 'unauthorized');
        const r = await kf(server, 'GET', '/api/apps', { user: { ...other, token } });
        assert.equal(r.status, 200, r.text);
      });

      it('gives every account its own 24-character token (144 bits, URL-safe)', async () => {
        const a = await newUser(server);
        const b = await newUser(server);
        assert.match(a.token, /^[A-Za-z0-9_-]{24}$/);
        assert.notEqual(a.token, b.token);
        // A token is shown once: asking again without rotating is refused, and the token stays.
        await assert.rejects(server.running.core.apiTokens.forAccount(a.id), /cannot be shown again/);
        assert.equal((await kf(server, 'GET', '/api/apps', { user: a })).status, 200);
      });
    });

    describe('versioning (Accept)', () => {
      it('answers v1 for application/vnd.kickfolio.v1, its +json form, generic types and no Accept at all', async () => {
        for (const accept of [ACCEPT_V1, 'application/vnd.kickfolio.v1+json', 'application/json', '*/*', 'application/vnd.kickfolio.v2, application/vnd.kickfolio.v1']) {
          const r = await kf(server, 'GET', '/api/apps', { user, headers: { accept } });
          assert.equal(r.status, 200, `${accept}: ${r.text}`);
        }
        const none = await rawRequest(server, 'GET', '/api/apps', { headers: { authorization: basic(user.token) } });
        assert.equal(none.status, 200, none.text);
        assert.match(none.headers.get('content-type') ?? '', /^application\/json/);
      });

      it('refuses an unknown version with 406 unsupported_version, before anything else happens', async () => {
        const before = await server.snapshot();
        const r = await kf(server, 'POST', '/api/apps', { user, headers: { accept: 'application/vnd.kickfolio.v2' }, body: { app: { name: 'never' } } });
        assertError(r, 406, 'unsupported_version', 'API version v2 is not available; this server speaks v1 (Accept: application/vnd.kickfolio.v1)');
        assertError(await kf(server, 'GET', '/api/nowhere', { user, headers: { accept: 'application/vnd.kickfolio.v9+json' } }), 406, 'unsupported_version');
        assert.equal(await server.snapshot(), before);
      });
    });

    describe('paths and bodies', () => {
      it('serves every path with and without .json and a trailing slash', async () => {
        const app = await createApp(server, user, 'Suffixed');
        for (const path of ['/api/apps', '/api/apps.json', '/api/apps/', `/api/apps/${app.id}`, `/api/apps/${app.id}.json`, `/api/apps/${app.public_key}.json`, `/api/versions.json?app_id=${app.id}`, `/api/apps/${app.id}/versions.json`]) {
          const r = await kf(server, 'GET', path, { user });
          assert.equal(r.status, 200, `${path}: ${r.text}`);
        }
        const created = await kf(server, 'POST', '/api/apps.json', { user, body: { name: 'Via json path' } });
        assert.equal(created.status, 201, created.text);
        const deleted = await kf(server, 'DELETE', `/api/apps/${created.json.app.id}.json`, { user });
        assert.equal(deleted.status, 204);
      });

      it('takes bodies wrapped in their root or bare, as JSON or form fields', async () => {
        const bodies: [string, string][] = [
          [JSON.stringify({ app: { name: 'Wrapped' } }), 'application/json'],
          [JSON.stringify({ name: 'Bare' }), 'application/json; charset=utf-8'],
          ['app%5Bname%5D=Form+Wrapped', 'application/x-www-form-urlencoded'],
          ['name=Form+Bare', 'application/x-www-form-urlencoded; charset=UTF-8'],
          ['name=Form+Labelled+Json', 'application/json'],
          [JSON.stringify({ name: 'Text plain' }), 'text/plain'],
        ];
        for (const [rawBody, contentType] of bodies) {
          const r = await kf(server, 'POST', '/api/apps', { user, rawBody, contentType: contentType || null });
          assert.equal(r.status, 201, `${rawBody}: ${r.text}`);
        }
        // No Content-Type at all (fetch always adds one; node:http does not).
        const untyped = await rawRequest(server, 'POST', '/api/apps', { headers: { authorization: basic(user.token) }, body: JSON.stringify({ name: 'No type' }) });
        assert.equal(untyped.status, 201, untyped.text);
        const names = (await kf(server, 'GET', '/api/apps', { user })).json.apps.map((a: { name: string }) => a.name);
        for (const name of ['Wrapped', 'Bare', 'Form Wrapped', 'Form Bare', 'Form Labelled Json', 'Text plain', 'No type']) assert.ok(names.includes(name), name);
      });

      it('ignores attributes that are not writable, as ActiveResource and Ember send whole records', async () => {
        const app = await createApp(server, user, 'Whole');
        const r = await kf(server, 'PUT', `/api/apps/${app.id}`, { user, body: { app: { ...app, name: 'Whole record', id: 'other', user_id: 'someone', public_key: 'HACKED1' } } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.app.name, 'Whole record');
        assert.equal(r.json.app.id, app.id);
        assert.equal(r.json.app.public_key, app.public_key);
        assert.equal(r.json.app.user_id, user.id);
      });

      it('answers 400 bad_request for bodies that cannot be read, changing nothing', async () => {
        const before = await server.snapshot();
        const cases: [string, string, RegExp][] = [
          ['{"app": {"name": ', 'application/json', /not valid JSON/],
          ['[1, 2, 3]', 'application/json', /must be a JSON object/],
          ['"just a string"', 'application/json', /must be a JSON object/],
          ['{"app": "Demo"}', 'application/json', /"app" must be an object/],
          ['{"__proto__": {"name": "x"}}', 'application/json', /forbidden key/],
          ['app[__proto__][name]=x', 'application/x-www-form-urlencoded', /forbidden key/],
          ['<app><name>x</name></app>', 'application/xml', /neither JSON nor form fields/],
          ['a[b][c][d]=1', 'application/x-www-form-urlencoded', /nested too deeply/],
        ];
        for (const [rawBody, contentType, message] of cases) {
          assertError(await kf(server, 'POST', '/api/apps', { user, rawBody, contentType }), 400, 'bad_request', message);
        }
        assert.equal(await server.snapshot(), before);
      });

      it('answers 413 request_too_large for a body beyond --body-limit', async () => {
        const before = await server.snapshot();
        const r = await kf(server, 'POST', '/api/apps', { user, body: { app: { name: 'x'.repeat(2 * 1024 * 1024) } } });
        assertError(r, 413, 'request_too_large');
        assert.equal(await server.snapshot(), before);
      });

      it('answers unknown paths with 404 not_found and known paths with a wrong method with 405 and Allow', async () => {
        assertError(await kf(server, 'GET', '/api/nothing-here', { user }), 404, 'not_found', 'No route matches GET /api/nothing-here');
        assertError(await kf(server, 'GET', '/api/apps/x/y/z/w', { user }), 404, 'not_found');
        const wrong = await kf(server, 'PATCH', '/api/apps/some-id', { user, body: {} });
        assertError(wrong, 405, 'method_not_allowed');
        assert.deepEqual(wrong.headers.get('allow')?.split(', ').sort(), ['DELETE', 'GET', 'POST', 'PUT']);
        const comment = await kf(server, 'PUT', '/api/comments/some-id.json', { user, body: {} });
        assertError(comment, 405, 'method_not_allowed');
        assert.deepEqual(comment.headers.get('allow')?.split(', ').sort(), ['DELETE', 'GET']);
      });

      it('answers an internal failure with 500 internal_error, saying nothing of its cause', async () => {
        const apps = server.running.core.apps;
        const listApps = apps.listApps;
        apps.listApps = async () => {
          throw new Error('connection to the database lost: secret detail');
        };
        try {
          const r = await kf(server, 'GET', '/api/apps', { user });
          assertError(r, 500, 'internal_error', 'Internal server error');
          assert.ok(!r.text.includes('secret detail'));
        } finally {
          apps.listApps = listApps;
        }
      });

      it('leaves the other APIs alone: paths outside /api keep their own answers', async () => {
        const r = await server.request('GET', '/hls/not-a-stream/index.m3u8');
        assert.equal(r.status, 404);
        assert.equal(r.json?.code, undefined);
      });
    });
  });
}

describe('kickfolio logging', () => {
  it('never writes an auth_token or an Authorization header to the log', async () => {
    const database = await createTestDatabase('sqlite');
    const dataDir = mkdtempSync(join(tmpdir(), 'streamdelta-data-'));
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    const config = loadConfig({ httpHost: '127.0.0.1', httpPort: '0', rtmpPort: '0', dataDir, databaseUrl: database.url, logLevel: 'debug' }, {});
    const running = await startServer(config, { logStream: stream });
    try {
      const account = await running.core.accounts.create({ username: 'logged', password: 'correct horse battery', email: null });
      const { token } = await running.core.apiTokens.forAccount(account.id);
      const headers = { accept: ACCEPT_V1 };
      await fetch(`${running.httpUrl}/api/apps?auth_token=${token}&ids[]=x`, { headers });
      await fetch(`${running.httpUrl}/api/apps.json?ids[]=y&auth_token=${token}`, { headers });
      await fetch(`${running.httpUrl}/api/apps`, { headers: { ...headers, authorization: basic(token) } });
      await fetch(`${running.httpUrl}/api/apps`, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: `name=x&auth_token=${token}` });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const log = lines.join('\n');
      assert.ok(log.includes('auth_token=[redacted]'), 'requests are logged, with the token redacted');
      assert.ok(!log.includes(token), 'the token never appears');
      assert.ok(!log.includes(Buffer.from(token).toString('base64')), 'nor its Basic form');
    } finally {
      await running.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
