/**
 * The watch page's back end and the stream chat it shares with the dashboard: a guest posts
 * under a name, the history and the event stream carry it; the owner (signed in, from this
 * server's pages) deletes messages and mutes chatters, nobody else does; a muted chatter is
 * refused; posts are rate-limited; the watch info holds no secret; a signed id needs its token.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { importPKCS8, SignJWT } from 'jose';
import type { AccountId } from '../../../src/core/kernel/ids.js';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function call(server: TestServer, method: string, path: string, options: { body?: unknown; cookie?: string; origin?: string | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  const origin = options.origin === undefined ? server.url : options.origin;
  if (origin !== null && method !== 'GET') headers.origin = origin;
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

const chatterId = () => randomBytes(16).toString('base64url');

/** An open chat event stream, and the events it brought so far. */
async function listen(server: TestServer, room: string) {
  const controller = new AbortController();
  const response = await fetch(`${server.url}/app/api/chat/${room}/events`, { signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: { event: string; data: any }[] = [];
  let buffer = '';
  const reader = response.body!.getReader();
  const reading = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += Buffer.from(value).toString('utf8');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    async next(event: string, predicate: (data: any) => boolean = () => true, ms = 2000) {
      const until = Date.now() + ms;
      for (;;) {
        const found = events.find((e) => e.event === event && predicate(e.data));
        if (found) return found.data;
        if (Date.now() > until) assert.fail(`no ${event} event within ${ms} ms: ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      controller.abort();
      await reading;
    },
  };
}

for (const kind of databaseKinds()) {
  describe(`watch page and stream chat (${kind})`, () => {
    let server: TestServer;
    let owner: { id: AccountId; cookie: string };
    let other: { cookie: string };
    let streamId: string;
    let streamKey: string;
    let playbackId: string;

    before(async () => {
      server = await startTestServer(kind, { chatRate: '3/60' });
      const core = server.running.core;
      const made = await core.accounts.create({ username: 'owner', password: 'a long passphrase 1' });
      owner = { id: made.id, cookie: `sd_session=${(await core.sessions.login('owner', 'a long passphrase 1', undefined)).token}` };
      await core.accounts.create({ username: 'other', password: 'a long passphrase 2' });
      other = { cookie: `sd_session=${(await core.sessions.login('other', 'a long passphrase 2', undefined)).token}` };
      const stream = await core.liveStreams.create({ accountId: owner.id, all: false }, { playbackPolicies: ['public'], title: 'Evening show' });
      streamId = stream.id;
      streamKey = stream.key;
      playbackId = stream.playbackIds[0]!.id;
    });

    after(async () => {
      await server?.close();
    });

    test('the watch info: title, status, viewers, offline, no recording yet, and no secret', async () => {
      const info = await call(server, 'GET', `/app/api/watch/${playbackId}`);
      assert.equal(info.status, 200, info.text);
      assert.equal(info.json.status, 'idle');
      assert.equal(info.json.live, false);
      assert.equal(info.json.viewers, 0);
      assert.equal(info.json.latestRecording, null);
      assert.ok(!info.text.includes(streamKey), 'the stream key stays out');
      assert.ok(!info.text.includes(streamId), 'the stream id stays out');
      assert.ok(!info.text.includes(owner.id), 'the owner stays out');
      assert.deepEqual(Object.keys(info.json).sort(), ['kind', 'latestRecording', 'live', 'status', 'title', 'viewers']);
      assert.equal((await call(server, 'GET', '/app/api/watch/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status, 404);
    });

    test('a guest posts under a name; the history and every listener get it', async () => {
      const listener = await listen(server, playbackId);
      const guest = chatterId();
      const posted = await call(server, 'POST', `/app/api/chat/${playbackId}/messages`, { body: { name: '  Ada ', chatterId: guest, text: 'hello there' } });
      assert.equal(posted.status, 201, posted.text);
      assert.equal(posted.json.data.name, 'Ada');
      assert.equal(posted.json.data.account, false);
      const delivered = await listener.next('message', (m) => m.id === posted.json.data.id, 1000);
      assert.equal(delivered.text, 'hello there');
      assert.ok(!JSON.stringify(delivered).includes(guest), 'the chatter id is never shown');
      const history = await call(server, 'GET', `/app/api/chat/${playbackId}/messages`);
      assert.equal(history.status, 200);
      assert.ok(history.json.data.some((m: any) => m.id === posted.json.data.id && m.text === 'hello there'));
      assert.ok(!history.text.includes(guest));
      await listener.close();

      for (const [name, why] of [['', 'empty'], ['x'.repeat(33), 'too long']] as const) {
        const refused = await call(server, 'POST', `/app/api/chat/${playbackId}/messages`, { body: { name, chatterId: chatterId(), text: 'hi' } });
        assert.equal(refused.status, 400, `a name ${why}`);
      }
      assert.equal((await call(server, 'POST', `/app/api/chat/${playbackId}/messages`, { body: { name: 'Bo', chatterId: 'short', text: 'hi' } })).status, 400, 'a bad chatter id');
      assert.equal((await call(server, 'POST', `/app/api/chat/${playbackId}/messages`, { body: { name: 'Bo', chatterId: chatterId(), text: '   ' } })).status, 400, 'an empty text');
    });

    test('the owner posts as their account, deletes and mutes; a muted chatter is refused', async () => {
      const listener = await listen(server, playbackId);
      const mine = await call(server, 'POST', `/app/api/chat/${streamId}/messages`, { cookie: owner.cookie, body: { text: 'welcome' } });
      assert.equal(mine.status, 201, mine.text);
      assert.equal(mine.json.data.name, 'owner');
      assert.equal(mine.json.data.account, true);
      await listener.next('message', (m) => m.id === mine.json.data.id);

      const troll = chatterId();
      const bad = await call(server, 'POST', `/app/api/chat/${playbackId}/messages`, { body: { name: 'Troll', chatterId: troll, text: 'spam' } });
      assert.equal(bad.status, 201);
      const id = bad.json.data.id;

      // Nobody but the owner, and the owner only from this server's pages.
      assert.equal((await call(server, 'DELETE', `/app/api/chat/${playbackId}/messages/${id}`)).status, 401, 'a guest');
      assert.equal((await call(server, 'DELETE', `/app/api/chat/${playbackId}/messages/${id}`, { cookie: other.cookie })).status, 403, 'another account');
      assert.equal((await call(server, 'DELETE', `/app/api/chat/${playbackId}/messages/${id}`, { cookie: owner.cookie, origin: 'https://evil.example' })).status, 403, 'a foreign origin');
      assert.equal((await call(server, 'DELETE', `/app/api/chat/${playbackId}/messages/${id}`, { cookie: owner.cookie, origin: null })).status, 403, 'no origin');
      assert.equal((await call(server, 'POST', `/app/api/chat/${playbackId}/mutes`, { cookie: other.cookie, body: { messageId: id } })).status, 403, 'another account mutes');
      assert.equal((await call(server, 'POST', `/app/api/chat/${playbackId}/mutes`, { cookie: owner.cookie, origin: 'https://evil.example', body: { messageId: id } })).status, 403, 'a foreign origin mutes');
      assert.equal((await call(server, 'POST', `/app/api/chat/${streamId}/messages`, { cookie: owner.cookie, origin: 'https://evil.example', body: { text: 'forged' } })).status, 403, 'a forged owner post');
      assert.equal((await call(server, 'GET', `/app/api/chat/${streamId}/messages`, { cookie: other.cookie })).status, 404, 'another account reads no room by stream id');
      assert.equal((await call(server, 'GET', `/app/api/chat/${streamId}/messages`)).status, 401);

      assert.equal((await call(server, 'POST', `/app/api/chat/${playbackId}/mutes`, { cookie: owner.cookie, body: { messageId: id } })).status, 204);
      const removed = await call(server, 'DELETE', `/app/api/chat/${streamId}/messages/${id}`, { cookie: owner.cookie });
      assert.equal(removed.status, 204, removed.text);
      await listener.next('deleted', (d) => d.id === id);
      const history = await call(server, 'GET', `/app/api/chat/${playbackId}/messages`);
      assert.ok(!history.json.data.some((m: any) => m.id === id), 'gone from the history');
      assert.equal((await call(server, 'DELETE', `/app/api/chat/${streamId}/messages/${id}`, { cookie: owner.cookie })).status, 404);

      const muted = await call(server, 'POST', `/app/api/chat/${playbackId}/messages`, { body: { name: 'Troll again', chatterId: troll, text: 'still here' } });
      assert.equal(muted.status, 403, muted.text);
      assert.match(muted.json.error.messages[0], /muted/);
      assert.equal((await call(server, 'POST', `/app/api/chat/${playbackId}/messages`, { body: { name: 'Nice', chatterId: chatterId(), text: 'hi' } })).status, 201, 'others still post');
      assert.equal((await call(server, 'POST', `/app/api/chat/${playbackId}/mutes`, { cookie: owner.cookie, body: { messageId: mine.json.data.id } })).status, 400, 'the owner cannot be muted');
      await listener.close();
    });

    test('posts are rate-limited per chatter and per address', async () => {
      const guest = chatterId();
      const post = (who: string) => call(server, 'POST', `/app/api/chat/${playbackId}/messages`, { body: { name: 'Fast', chatterId: who, text: 'again' } });
      for (let i = 0; i < 3; i++) assert.equal((await post(guest)).status, 201);
      const limited = await post(guest);
      assert.equal(limited.status, 429, limited.text);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      // A new chatter id from the same address gets a few more, then the address is limited too.
      let status = 201;
      for (let i = 0; i < 20 && status === 201; i++) status = (await post(chatterId())).status;
      assert.equal(status, 429, 'one address cannot post without end by changing chatter ids');
    });

    test('a signed playback id needs its token for the watch info and the chat', async () => {
      const core = server.running.core;
      const scope = { accountId: owner.id, all: false };
      const signed = await core.liveStreams.create(scope, { playbackPolicies: ['signed'] });
      const id = signed.playbackIds[0]!.id;
      assert.equal((await call(server, 'GET', `/app/api/watch/${id}`)).status, 403);
      assert.equal((await call(server, 'GET', `/app/api/chat/${id}/messages`)).status, 403);
      assert.equal((await call(server, 'GET', `/app/api/chat/${id}/events`)).status, 403);
      assert.equal((await call(server, 'POST', `/app/api/chat/${id}/messages`, { body: { name: 'A', chatterId: chatterId(), text: 'x' } })).status, 403);
      const key = await core.signingKeys.create(scope);
      const pem = createPrivateKey(Buffer.from(key.privateKey, 'base64').toString('utf8')).export({ type: 'pkcs8', format: 'pem' }).toString();
      const token = await new SignJWT({ kid: key.id }).setProtectedHeader({ alg: 'RS256' }).setSubject(id).setAudience('v').setExpirationTime('10m').sign(await importPKCS8(pem, 'RS256'));
      const info = await call(server, 'GET', `/app/api/watch/${id}?token=${token}`);
      assert.equal(info.status, 200, info.text);
      assert.ok(!info.text.includes(signed.key));
      assert.equal((await call(server, 'GET', `/app/api/chat/${id}/messages?token=${token}`)).status, 200);
      assert.equal((await call(server, 'GET', `/app/api/watch/${id}?token=${token}x`)).status, 403, 'a spoiled token');
    });
  });
}
