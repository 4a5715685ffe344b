/**
 * The dashboard's sign-in, as a browser uses it: the first run makes the administrator once;
 * sign-in sets an HttpOnly, SameSite=Lax cookie that the Mux-compatible API (and its event
 * stream) takes in place of an access token; writes with the cookie must come from the server's
 * own pages (a cross-site form post is refused); sign-out ends the session on the server; wrong
 * passwords are refused and, repeated, throttled. A browser asking for `/` gets the app, while
 * API clients keep rig's route list byte for byte.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function call(server: TestServer, method: string, path: string, options: { body?: unknown; cookie?: string; origin?: string | null; accept?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  // A browser sends its page's origin with every write; `null` leaves it out.
  const origin = options.origin === undefined ? server.url : options.origin;
  if (origin !== null && method !== 'GET') headers.origin = origin;
  if (options.accept !== undefined) headers.accept = options.accept;
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** The `name=value` part of the session cookie a response sets. */
function cookieOf(answer: Answer): string {
  const set = answer.headers.get('set-cookie') ?? '';
  const pair = set.split(';')[0]!;
  assert.match(pair, /^sd_session=[\w-]{43}$/, set);
  return pair;
}

for (const kind of databaseKinds()) {
  describe(`dashboard sessions (${kind})`, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(kind, { loginMaxFailures: '3' });
    });

    after(async () => {
      await server?.close();
    });

    test('the first run makes the administrator once, signed in; then only sign-in is left', async () => {
      assert.deepEqual((await call(server, 'GET', '/app/api/setup')).json, { needsAdmin: true });
      const bad = await call(server, 'POST', '/app/api/setup', { body: { username: 'ad', password: 'x' } });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error.type, 'invalid_parameters');
      assert.deepEqual((await call(server, 'GET', '/app/api/setup')).json, { needsAdmin: true }, 'a refused try leaves the first run open');

      const made = await call(server, 'POST', '/app/api/setup', { body: { username: 'admin', password: 'a long passphrase 1' } });
      assert.equal(made.status, 201, made.text);
      assert.equal(made.json.account.username, 'admin');
      assert.equal(made.json.account.admin, true);
      const setCookie = made.headers.get('set-cookie')!;
      assert.match(setCookie, /HttpOnly/);
      assert.match(setCookie, /SameSite=Lax/);
      assert.match(setCookie, /Path=\//);
      assert.doesNotMatch(setCookie, /Secure/, 'an http server’s cookie cannot be Secure');
      const cookie = cookieOf(made);
      const session = await call(server, 'GET', '/app/api/session', { cookie });
      assert.equal(session.status, 200);
      assert.equal(session.json.account.username, 'admin');
      assert.match(session.json.rtmpUrl, /^rtmp:\/\/[^/]+:\d+\/live$/);

      assert.deepEqual((await call(server, 'GET', '/app/api/setup')).json, { needsAdmin: false });
      const again = await call(server, 'POST', '/app/api/setup', { body: { username: 'mallory', password: 'another passphrase 2' } });
      assert.equal(again.status, 409);
      assert.equal(await server.running.core.accounts.findByUsername('mallory'), undefined);
    });

    test('sign-in takes the cookie in place of an access token; sign-out ends it on the server', async () => {
      await server.running.core.accounts.create({ username: 'streamer', password: 'streamer passphrase 1' });
      const wrong = await call(server, 'POST', '/app/api/login', { body: { username: 'streamer', password: 'not it at all' } });
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.json.error.messages, ['Wrong username or password']);
      assert.equal(wrong.headers.get('set-cookie'), null);
      const nobody = await call(server, 'POST', '/app/api/login', { body: { username: 'nobody-here', password: 'not it at all' } });
      assert.deepEqual(nobody.json, wrong.json, 'an unknown name answers as a wrong password does');

      const login = await call(server, 'POST', '/app/api/login', { body: { username: 'streamer', password: 'streamer passphrase 1' } });
      assert.equal(login.status, 200, login.text);
      const cookie = cookieOf(login);
      const made = await call(server, 'POST', '/video/v1/live-streams', { cookie, body: { playback_policy: ['public'] } });
      assert.equal(made.status, 201, made.text);
      const listed = await call(server, 'GET', '/video/v1/live-streams', { cookie });
      assert.deepEqual(listed.json.data.map((s: { id: string }) => s.id), [made.json.data.id]);

      const events = await fetch(`${server.url}/system/v1/events`, { headers: { cookie } });
      assert.equal(events.status, 200);
      assert.match(events.headers.get('content-type') ?? '', /^text\/event-stream/);
      await events.body?.cancel();

      const out = await call(server, 'POST', '/app/api/logout', { cookie });
      assert.equal(out.status, 204);
      assert.match(out.headers.get('set-cookie') ?? '', /^sd_session=; .*Max-Age=0/);
      assert.equal((await call(server, 'GET', '/app/api/session', { cookie })).status, 401, 'the old cookie signs nobody in');
      const after = await call(server, 'GET', '/video/v1/live-streams', { cookie });
      assert.equal(after.status, 401);
      assert.equal(after.json.error.type, 'unauthorized');
    });

    test('a password change ends the sessions signed in before it', async () => {
      const account = await server.running.core.accounts.create({ username: 'changer', password: 'first passphrase 1' });
      const login = await call(server, 'POST', '/app/api/login', { body: { username: 'changer', password: 'first passphrase 1' } });
      const cookie = cookieOf(login);
      assert.equal((await call(server, 'GET', '/app/api/session', { cookie })).status, 200);
      await server.running.core.accounts.changePassword(account.id, 'first passphrase 1', 'second passphrase 2');
      assert.equal((await call(server, 'GET', '/app/api/session', { cookie })).status, 401);
      assert.equal((await call(server, 'GET', '/video/v1/live-streams', { cookie })).status, 401);
    });

    test('a page on a name that resolves to this server (DNS rebinding) is not this server’s own', async () => {
      const login = await call(server, 'POST', '/app/api/login', { body: { username: 'admin', password: 'a long passphrase 1' } });
      const cookie = cookieOf(login);
      const port = new URL(server.url).port;
      const status = await new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({});
        const req = httpRequest(
          { host: '127.0.0.1', port, method: 'POST', path: '/video/v1/live-streams', headers: { host: `rebound.example:${port}`, origin: `http://rebound.example:${port}`, cookie, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(status, 403);
      // The address itself is fine: a server reached by its IP rather than its public URL.
      const byAddress = await call(server, 'POST', '/video/v1/live-streams', { cookie, origin: server.url.replace('localhost', '127.0.0.1'), body: {} });
      assert.equal(byAddress.status, 201, byAddress.text);
    });

    test('a malformed session cookie is no session, not an error', async () => {
      const reply = await call(server, 'GET', '/video/v1/live-streams', { cookie: 'sd_session=%E0%A4%A' });
      assert.equal(reply.status, 401);
    });

    test('a write with the cookie from another site, or with no origin, is refused and changes nothing', async () => {
      const login = await call(server, 'POST', '/app/api/login', { body: { username: 'admin', password: 'a long passphrase 1' } });
      const cookie = cookieOf(login);
      const before = await server.snapshot();
      for (const origin of ['https://evil.example', 'null', null]) {
        const refused = await call(server, 'POST', '/video/v1/live-streams', { cookie, origin, body: {} });
        assert.equal(refused.status, 403, `origin ${origin}: ${refused.text}`);
        assert.equal(refused.json.error.type, 'forbidden');
        // A form on another site posting to sign-in or sign-out is refused too.
        assert.equal((await call(server, 'POST', '/app/api/logout', { cookie, origin })).status, 403);
      }
      assert.equal(await server.snapshot(), before);
      assert.equal((await call(server, 'GET', '/app/api/session', { cookie })).status, 200, 'still signed in');
    });

    test('repeated wrong passwords are throttled, the right one included, for a while', async () => {
      await server.running.core.accounts.create({ username: 'guessed', password: 'guessed passphrase 1' });
      let last: Answer | undefined;
      for (let i = 0; i < 6; i++) last = await call(server, 'POST', '/app/api/login', { body: { username: 'guessed', password: `wrong guess ${i}` } });
      assert.equal(last!.status, 429, last!.text);
      assert.ok(Number(last!.headers.get('retry-after')) >= 1);
      const right = await call(server, 'POST', '/app/api/login', { body: { username: 'guessed', password: 'guessed passphrase 1' } });
      assert.equal(right.status, 429, 'nothing is learnt during the wait');
    });

    test('a browser asking for / gets the app; API clients keep rig’s route list byte for byte', async () => {
      const json = await fetch(`${server.url}/`);
      const star = await fetch(`${server.url}/`, { headers: { accept: '*/*' } });
      const jsonText = await json.text();
      assert.equal(await star.text(), jsonText);
      assert.match(star.headers.get('content-type') ?? '', /^application\/json/);
      const browser = await fetch(`${server.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
      assert.match(browser.headers.get('content-type') ?? '', /^text\/html/);
      const page = await browser.text();
      assert.match(page, /<html/i);
      assert.notEqual(page, jsonText);
      for (const path of ['/app/', '/app/streams/anything', '/watch/AbCdEf123', '/embed/AbCdEf123']) {
        const reply = await fetch(`${server.url}${path}`);
        assert.match(reply.headers.get('content-type') ?? '', /^text\/html/, path);
        assert.equal(await reply.text(), page, `${path} is the app`);
      }
      assert.equal((await fetch(`${server.url}/app/api/nothing`)).status, 404);
    });
  });
}
