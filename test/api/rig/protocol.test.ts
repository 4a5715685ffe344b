/**
 * rig API v1, the protocol around the routes: Content-Type rules, malformed bodies, 404/405
 * as 1000/1001, the route list at `/`, CORS, the body size limit and the configurable prefix.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { assertRigError, assertSuccess, assertUndecodable, newStream, newUser, PASSWORD, rawRequest, uniqueName } from './support.js';

/**
 * rig's route list, word for word and in order, as its `GET /` answers it: every route of the
 * API v1 document plus the two undocumented invite routes, each with rig's own description.
 */
const RIG_ROUTES = [
  'GET / - Get list of api',
  'POST /accounts/ - Create new user account',
  'POST /accounts/password - Update user password',
  'POST /accounts/auth/local - Authenticate using username and password',
  'POST /accounts/invite - Create an invite for a new user account',
  'POST /accounts/invite/verify - Verify an invite using email and invite token',
  'POST /streams/ - Create new stream for current user',
  'GET /streams/ - Get all streams configured for current user',
  'GET /streams/{streamID} - Get details of specific stream',
  'POST /streams/{streamID}/destination - Add a destination for a stream',
  'POST /streams/{streamID}/changeKey - Update streaming key for an existing stream',
  'GET /agents/config/{streamKey} - Get destinations for a given stream key',
];

/** `RIG_ROUTES` as listed by a rig mounted under `prefix`. */
function routesUnder(prefix: string): string[] {
  return RIG_ROUTES.map((route) => route.replace(' /', ` ${prefix}/`));
}

const ORIGIN = 'https://dashboard.example.net';
const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
];

function corsHeadersOf(reply: { headers: Headers }): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of CORS_HEADERS) {
    const value = reply.headers.get(name);
    if (value !== null) found[name] = value;
  }
  return found;
}

function varyOf(reply: { headers: Headers }): string[] {
  return (reply.headers.get('vary') ?? '').split(/,\s*/).filter((v) => v !== '');
}

/**
 * One HTTP/1.1 request written by hand, for shapes no client library sends (a POST with
 * neither Content-Length nor Transfer-Encoding). `head` must ask for `Connection: close`.
 */
function socketRequest(server: TestServer, head: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head));
    let data = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy(new Error(`no complete answer in 5 s: ${data}`)));
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('end', () => {
      const split = data.indexOf('\r\n\r\n');
      resolve({ status: Number(data.slice(9, 12)), body: split < 0 ? '' : data.slice(split + 4) });
    });
    socket.on('error', reject);
  });
}

for (const kind of databaseKinds()) {
  describe(`rig protocol on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(() => server.close());

    describe('Content-Type', () => {
      it('refuses text/plain, a charset parameter and other types with 1002/415, changing nothing', async () => {
        const username = uniqueName();
        const body = JSON.stringify({ username, password: PASSWORD, email: `${username}@example.net` });
        const before = await server.snapshot();
        for (const contentType of ['text/plain', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/x-www-form-urlencoded', 'application/vnd.api+json', 'text/json']) {
          const r = await server.request('POST', '/accounts/', { rawBody: body, contentType });
          assertRigError(r, 415, 1002, { message: 'Content-Type should be application/json' });
        }
        assert.equal(await server.snapshot(), before);
        // The same body with the right type goes through: the refusals above were about the type only.
        const ok = await server.request('POST', '/accounts/', { rawBody: body, contentType: 'application/json' });
        assert.equal(ok.status, 200, ok.text);
      });

      it('refuses a body sent without any Content-Type with 1002', async () => {
        const username = uniqueName();
        const body = JSON.stringify({ username, password: PASSWORD, email: `${username}@example.net` });
        const before = await server.snapshot();
        const sized = await rawRequest(server, 'POST', '/accounts/', { body });
        assertRigError(sized, 415, 1002);
        const chunked = await rawRequest(server, 'POST', '/accounts/', { body, chunked: true });
        assertRigError(chunked, 415, 1002);
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a wrong Content-Type on a body-less route too', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        const r = await server.request('POST', '/streams/', { token: user.token, contentType: 'text/plain', rawBody: '' });
        assertRigError(r, 415, 1002);
        assert.equal(await server.snapshot(), before);
      });

      it('lets a POST with no Content-Type, no Content-Length and no body through', async () => {
        const user = await newUser(server);
        const { hostname, port } = new URL(server.url);
        const r = await socketRequest(
          server,
          `POST /streams/ HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${user.token}\r\nConnection: close\r\n\r\n`,
        );
        assert.equal(r.status, 200, r.body);
        assert.equal(JSON.parse(r.body).message, 'New stream created');
      });

      it('answers a body-less POST to a route with fields as rig\'s decoder does: 1005 without details', async () => {
        const r = await rawRequest(server, 'POST', '/accounts/', { headers: { 'content-length': '0' } });
        assertUndecodable(r);
      });

      it('does not require a Content-Type on GET', async () => {
        const user = await newUser(server);
        const r = await rawRequest(server, 'GET', '/streams/', { headers: { authorization: `Bearer ${user.token}` } });
        assert.equal(r.status, 200, r.text);
      });
    });

    describe('malformed bodies', () => {
      it('refuses malformed JSON with 1005/400 and changes nothing', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const before = await server.snapshot();
        for (const raw of ['{', '{"username": "foo",}', "{'username': 'foo'}", 'username=foo', '{"a":1}{"b":2}', '\u0000']) {
          const r = await server.request('POST', '/accounts/', { rawBody: raw, contentType: 'application/json' });
          assertUndecodable(r);
        }
        const d = await server.request('POST', `/streams/${s.id}/destination`, { token: user.token, rawBody: '{"service":', contentType: 'application/json' });
        assertUndecodable(d);
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a JSON array body with 1005 without details, and a null body with 1005 with details, on every route with fields', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const before = await server.snapshot();
        const routes: [string, string | undefined][] = [
          ['/accounts/', undefined],
          ['/accounts/auth/local', undefined],
          ['/accounts/password', user.token],
          ['/accounts/invite', user.token],
          ['/accounts/invite/verify', undefined],
          [`/streams/${s.id}/destination`, user.token],
        ];
        for (const [path, token] of routes) {
          for (const raw of ['[]', '["service", "streamKey"]', '"x"', '1']) {
            const r = await server.request('POST', path, { rawBody: raw, contentType: 'application/json', ...(token ? { token } : {}) });
            assertUndecodable(r);
          }
          // Go decodes `null` into an untouched struct, whose empty fields then fail validation.
          const r = await server.request('POST', path, { rawBody: 'null', contentType: 'application/json', ...(token ? { token } : {}) });
          assertRigError(r, 400, 1005, { message: 'Invalid input', anyDetails: true });
        }
        assert.equal(await server.snapshot(), before);
      });
    });

    describe('unknown routes and methods', () => {
      it('answers 1000/404 for unknown paths, whatever the method', async () => {
        const before = await server.snapshot();
        for (const [method, path] of [
          ['GET', '/nope'],
          ['POST', '/accounts/nope'],
          ['GET', '/streams/a/b/c'],
          ['GET', '/agents/config'],
          ['GET', '/agents/config/a/b'],
          ['DELETE', '/whatever'],
          ['GET', '/action'],
        ] as const) {
          const r = await server.request(method, path);
          assertRigError(r, 404, 1000, { message: 'Not found' });
        }
        const posted = await server.request('POST', '/accounts/create', { body: { username: uniqueName(), password: PASSWORD, email: 'a@b.net' } });
        assertRigError(posted, 404, 1000);
        assert.equal(await server.snapshot(), before);
      });

      it('answers 1001/405 for a wrong method on a known path, naming the allowed ones', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const before = await server.snapshot();
        const cases: [string, string, string][] = [
          ['DELETE', `/streams/${s.id}`, 'GET'],
          ['PUT', `/streams/${s.id}`, 'GET'],
          ['GET', '/accounts/auth/local', 'POST'],
          ['GET', '/accounts/', 'POST'],
          ['GET', '/accounts', 'POST'],
          ['GET', '/accounts/password', 'POST'],
          ['GET', `/streams/${s.id}/destination`, 'POST'],
          ['GET', `/streams/${s.id}/changeKey`, 'POST'],
          ['DELETE', '/streams/', 'GET, POST'],
          ['PATCH', '/streams', 'GET, POST'],
        ];
        for (const [method, path, allow] of cases) {
          const r = await server.request(method, path, { token: user.token });
          assertRigError(r, 405, 1001, { message: 'Method not allowed' });
          assert.deepEqual(new Set(r.headers.get('allow')?.split(/,\s*/)), new Set(allow.split(', ')), `${method} ${path}`);
        }
        assert.equal(await server.snapshot(), before);
        // The stream is still there after the DELETE.
        const detail = await server.request('GET', `/streams/${s.id}`, { token: user.token });
        assert.equal(detail.status, 200);
      });

      it('answers HEAD with 405 on every route, as rig\'s router has no HEAD routes, and 404 on unknown paths', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        for (const [path, allow] of [
          ['/', 'GET'],
          ['/streams/', 'GET, POST'],
          [`/streams/${s.id}`, 'GET'],
          [`/agents/config/${s.streamKey}`, 'GET'],
          ['/accounts/', 'POST'],
        ] as const) {
          const r = await server.request('HEAD', path, { token: user.token });
          assert.equal(r.status, 405, `HEAD ${path}`);
          assert.deepEqual(new Set(r.headers.get('allow')?.split(/,\s*/)), new Set(allow.split(', ')), `HEAD ${path}`);
        }
        assert.equal((await server.request('HEAD', '/nope')).status, 404);
      });

      it('answers 1001 for a wrong method even with a wrong Content-Type', async () => {
        const r = await server.request('PUT', '/accounts/auth/local', { rawBody: 'x', contentType: 'text/plain' });
        assertRigError(r, 405, 1001);
      });
    });

    describe('GET / (route list)', () => {
      it('lists every route as "METHOD /path - description" with rig\'s own words, in rig\'s order', async () => {
        const r = await server.request('GET', '/');
        assertSuccess(r, 'xplex-rig HTTP API v1', RIG_ROUTES);
      });
    });

    describe('CORS', () => {
      it('reflects the Origin with credentials allowed on actual answers, success and error, and sets Vary: Origin', async () => {
        const user = await newUser(server);
        const ok = await server.request('GET', '/streams/', { token: user.token, headers: { origin: ORIGIN } });
        assert.equal(ok.status, 200);
        const err = await server.request('GET', '/streams/', { headers: { origin: ORIGIN } });
        assert.equal(err.status, 401);
        const invalid = await server.request('POST', '/accounts/', { body: {}, headers: { origin: 'http://localhost:8081' } });
        assert.equal(invalid.status, 400);
        const missing = await server.request('GET', '/nope', { headers: { origin: ORIGIN } });
        assert.equal(missing.status, 404);
        for (const [reply, origin] of [[ok, ORIGIN], [err, ORIGIN], [invalid, 'http://localhost:8081'], [missing, ORIGIN]] as const) {
          assert.deepEqual(corsHeadersOf(reply), { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' }, reply.text);
          assert.ok(varyOf(reply).includes('Origin'), reply.headers.get('vary') ?? 'no Vary');
        }
      });

      it('sends no CORS header without an Origin, but still Vary: Origin', async () => {
        const user = await newUser(server);
        for (const reply of [
          await server.request('GET', '/streams/', { token: user.token }),
          await server.request('GET', '/streams/'),
          await server.request('GET', '/'),
        ]) {
          assert.deepEqual(corsHeadersOf(reply), {}, reply.text);
          assert.deepEqual(varyOf(reply), ['Origin']);
        }
      });

      it('allows a preflight for the method the route has, naming just that method', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        for (const [path, method] of [
          ['/streams/', 'POST'],
          ['/streams/', 'GET'],
          [`/streams/${s.id}/destination`, 'POST'],
          [`/agents/config/${s.streamKey}`, 'GET'],
          ['/accounts/auth/local', 'POST'],
          ['/accounts', 'POST'],
        ] as const) {
          const r = await server.request('OPTIONS', path, {
            headers: { origin: ORIGIN, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
          });
          assert.equal(r.status, 200, `${method} ${path}`);
          assert.equal(r.text, '');
          assert.deepEqual(
            corsHeadersOf(r),
            {
              'access-control-allow-origin': ORIGIN,
              'access-control-allow-credentials': 'true',
              'access-control-allow-methods': method,
              'access-control-allow-headers': 'Content-Type, Authorization',
            },
            `${method} ${path}`,
          );
          assert.ok(varyOf(r).includes('Origin'), r.headers.get('vary') ?? 'no Vary');
        }
      });

      it('allows no preflight for a method the route lacks, an unknown path, another header, or without an Origin', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const cases: [string, Record<string, string>][] = [
          ['/streams/', { origin: ORIGIN, 'access-control-request-method': 'DELETE' }],
          ['/streams/', { origin: ORIGIN, 'access-control-request-method': 'PATCH' }],
          [`/streams/${s.id}`, { origin: ORIGIN, 'access-control-request-method': 'POST' }],
          [`/agents/config/${s.streamKey}`, { origin: ORIGIN, 'access-control-request-method': 'POST' }],
          ['/accounts/', { origin: ORIGIN, 'access-control-request-method': 'GET' }],
          ['/nope', { origin: ORIGIN, 'access-control-request-method': 'GET' }],
          ['/streams/', { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-secret' }],
          ['/streams/', { 'access-control-request-method': 'GET' }],
        ];
        for (const [path, headers] of cases) {
          const r = await server.request('OPTIONS', path, { headers });
          assert.equal(r.status, 200, `${JSON.stringify(headers)} ${path}`);
          assert.deepEqual(corsHeadersOf(r), {}, `${JSON.stringify(headers)} ${path}`);
          assert.ok(varyOf(r).includes('Origin'));
        }
      });

      it('answers an OPTIONS that is not a preflight as the router does (405 on a known path), with Vary but no CORS header', async () => {
        const r = await server.request('OPTIONS', '/streams/', { headers: { origin: ORIGIN } });
        assertRigError(r, 405, 1001);
        assert.deepEqual(corsHeadersOf(r), {});
        assert.deepEqual(varyOf(r), ['Origin']);
        assertRigError(await server.request('OPTIONS', '/nope', { headers: { origin: ORIGIN } }), 404, 1000);
      });

      it('gives a HEAD request no allow-origin, as HEAD is not among rig\'s CORS methods', async () => {
        const r = await server.request('HEAD', '/', { headers: { origin: ORIGIN } });
        assert.deepEqual(corsHeadersOf(r), {});
        assert.ok(varyOf(r).includes('Origin'));
      });
    });

    describe('every error body', () => {
      it('is exactly {message, errorCode} or {message, errorCode, details}', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const replies = await Promise.all([
          server.request('GET', '/nope'),
          server.request('DELETE', `/streams/${s.id}`),
          server.request('POST', '/accounts/', { rawBody: '{}', contentType: 'text/plain' }),
          server.request('GET', '/streams/'),
          server.request('POST', '/accounts/', { body: {} }),
          server.request('POST', '/accounts/', { rawBody: '{', contentType: 'application/json' }),
          server.request('POST', '/accounts/', { body: { username: 'ab', password: PASSWORD, email: 'a@b.net' } }),
          server.request('POST', '/accounts/', { body: { username: user.username, password: PASSWORD, email: 'x@b.net' } }),
          server.request('POST', '/accounts/password', { token: user.token, body: { oldPassword: 'WrongWrong', newPassword: 'NewNewNew1' } }),
          server.request('GET', '/agents/config/nope'),
          server.request('GET', `/streams/not-a-uuid`, { token: user.token }),
        ]);
        const codes = replies.map((r) => {
          const keys = Object.keys(r.json);
          assert.ok(
            JSON.stringify(keys) === '["message","errorCode"]' || JSON.stringify(keys) === '["message","errorCode","details"]',
            `${r.status}: ${r.text}`,
          );
          assert.equal(typeof r.json.message, 'string');
          assert.ok(Number.isInteger(r.json.errorCode));
          if ('details' in r.json) assert.notEqual(r.json.details, null);
          return r.json.errorCode as number;
        });
        assert.deepEqual(codes, [1000, 1001, 1002, 1003, 1005, 1005, 1005, 1006, 1007, 1008, 1005]);
      });
    });
  });

  describe(`rig body size limit on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { bodyLimit: '2048' });
    });
    after(() => server.close());

    it('refuses a body larger than the configured limit with 413 in rig\'s envelope, changing nothing', async () => {
      const before = await server.snapshot();
      const big = JSON.stringify({ username: uniqueName(), password: PASSWORD, email: 'big@example.net', padding: 'x'.repeat(4096) });
      const r = await server.request('POST', '/accounts/', { rawBody: big, contentType: 'application/json' });
      assertRigError(r, 413, 1005);
      const chunked = await rawRequest(server, 'POST', '/accounts/', { body: big, chunked: true, headers: { 'content-type': 'application/json' } });
      assertRigError(chunked, 413, 1005);
      assert.equal(await server.snapshot(), before);
    });

    it('accepts a body just under the limit', async () => {
      const username = uniqueName();
      const base = { username, password: PASSWORD, email: `${username}@example.net`, padding: '' };
      const padding = 'x'.repeat(2000 - JSON.stringify(base).length);
      const r = await server.request('POST', '/accounts/', { body: { ...base, padding } });
      assert.equal(r.status, 200, r.text);
    });
  });

  describe(`rig under a prefix on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { rigPrefix: '/rig' });
    });
    after(() => server.close());

    it('answers at /rig/accounts/ and the other routes under /rig', async () => {
      const username = uniqueName('prefixed');
      const email = `${username}@example.net`;
      const created = await server.request('POST', '/rig/accounts/', { body: { username, password: PASSWORD, email } });
      assert.equal(created.status, 200, created.text);
      assertSuccess(created, 'User created', { userID: created.json.payload.userID, username, email });
      const noSlash = await rawRequest(server, 'POST', '/rig/accounts', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: `${username}2`, password: PASSWORD, email: `2${email}` }),
      });
      assert.equal(noSlash.status, 200, noSlash.text);
      assert.equal(noSlash.json.message, 'User created');

      const login = await server.request('POST', '/rig/accounts/auth/local', { body: { username, password: PASSWORD } });
      assert.equal(login.status, 200, login.text);
      const token = login.json.payload.token as string;
      const stream = await server.request('POST', '/rig/streams/', { token });
      assert.equal(stream.status, 200, stream.text);
      const config = await server.request('GET', `/rig/agents/config/${stream.json.payload.streamKey}`);
      assertSuccess(config, 'Stream Config', []);

      const routes = await server.request('GET', '/rig/');
      assertSuccess(routes, 'xplex-rig HTTP API v1', routesUnder('/rig'));
      assertSuccess(await server.request('GET', '/rig'), 'xplex-rig HTTP API v1', routesUnder('/rig'));
    });

    it('serves nothing of rig at the unprefixed paths (404), and 1000/1001 under the prefix', async () => {
      const before = await server.snapshot();
      const r = await server.request('POST', '/accounts/', { body: { username: uniqueName(), password: PASSWORD, email: 'np@example.net' } });
      assert.equal(r.status, 404, r.text);
      assert.equal((await server.request('GET', '/streams/')).status, 404);
      assertRigError(await server.request('GET', '/rig/accounts/auth/local'), 405, 1001);
      assertRigError(await server.request('GET', '/rig/nope'), 404, 1000);
      assertRigError(await server.request('GET', '/rig/streams/a/b/c'), 404, 1000);
      assert.equal(await server.snapshot(), before);
    });

    it('answers paths outside every prefix with the server\'s own JSON 404, not rig\'s envelope', async () => {
      const r = await server.request('POST', '/accounts/', { body: {} });
      assert.equal(r.status, 404);
      assert.deepEqual(r.json, { message: 'Not found' });
    });
  });
}
