/**
 * The Multistreamer chat over a real WebSocket client (`ws`): refused upgrades, history then live
 * messages to two users, chat levels 1 and 2, the rate limit, bad frames, injected and status
 * messages, status requests, a share taken away, and two servers on one PostgreSQL schema and Redis.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { CHAT_SOCKET_SECRET_PATHS } from '../../../src/api/multistreamer/chat-socket.js';
import { emit } from '../../../src/core/kernel/context.js';
import { redactPath } from '../../../src/logging.js';
import { createTestDatabase, databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { chatHttp, ChatClient, chatStream, chatUser, share, texts, type ChatUser } from './chat-support.js';

const SETTINGS = { chatMaxLength: '50', chatRate: '3/60', chatHistory: '3' };

async function refusal(url: string, headers?: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const err = await ChatClient.open(url, headers ? { headers } : {}).then(
    (client) => {
      client.close();
      throw new Error('the upgrade was accepted');
    },
    (e: { status?: number; body?: string }) => e,
  );
  return { status: err.status ?? 0, body: err.body ? JSON.parse(err.body) : undefined };
}

for (const kind of databaseKinds()) {
  describe(`chat socket on ${kind}`, () => {
    let server: TestServer;
    let http: { app: FastifyInstance; url: string };
    let owner: ChatUser;
    let friend: ChatUser;
    let stranger: ChatUser;
    before(async () => {
      server = await startTestServer(kind, SETTINGS);
      http = await chatHttp(server, 200);
      owner = await chatUser(server, 'sockowner');
      friend = await chatUser(server, 'sockfriend');
      stranger = await chatUser(server, 'sockstranger');
    });
    after(async () => {
      await http.app.close();
      await server.close();
    });

    it('refuses the upgrade without a valid token; an unknown stream and chat level 0 get one same answer', async () => {
      const stream = await chatStream(server, owner, 'refusals');
      await share(server, stream, friend, 0);
      const url = `${http.url}/ws/${stream.number}`;
      const unauthorized = { status: 401, body: { error: 'endpoint requires authorization' } };
      assert.deepEqual(await refusal(url), unauthorized);
      assert.deepEqual(await refusal(`${url}?token=0123456789ABCDEF0123`), unauthorized);
      assert.deepEqual(await refusal(`${url}?token=`), unauthorized);
      assert.deepEqual(await refusal(url, { authorization: 'Bearer nope' }), unauthorized);
      // Whether a stream exists is nobody's business but those it is shared with: no 404 beside the 403.
      const forbidden = { status: 403, body: { error: 'unauthorized to use that stream' } };
      assert.deepEqual(await refusal(`${http.url}/ws/999999?token=${owner.token}`), forbidden);
      assert.deepEqual(await refusal(`${http.url}/ws/abc?token=${owner.token}`), forbidden);
      assert.deepEqual(await refusal(`${url}?token=${stranger.token}`), forbidden);
      // Shared for metadata only (chat level 0): no chat.
      assert.deepEqual(await refusal(`${url}?token=${friend.token}`), forbidden);
      // A plain GET is told to upgrade.
      const plain = await fetch(`${url.replace('ws:', 'http:')}?token=${owner.token}`);
      assert.equal(plain.status, 426);
      assert.deepEqual(await plain.json(), { error: 'this endpoint needs a WebSocket upgrade' });
      // The header works as well as the query.
      const client = await ChatClient.open(url, { headers: { authorization: `Bearer ${owner.token}` } });
      await client.waitFor((f) => f.type === 'writer');
      client.close();
    });

    it('sends history then live messages to two users; level 1 reads, level 2 posts', async () => {
      const { core } = server.running;
      const stream = await chatStream(server, owner, 'two-users');
      await share(server, stream, friend, 1);
      const ownerProfile = await core.accessTokens.profile(owner.id);
      for (const text of ['one', 'two', 'three', 'four']) await core.chat.inject(stream.id, { network: 'irc', from: { name: 'old' }, type: 'text', text });
      const url = `${http.url}/ws/${stream.number}`;
      const a = await ChatClient.open(`${url}?token=${owner.token}`);
      const b = await ChatClient.open(`${url}?token=${friend.token}`);
      // writer first, then the last 3 (--chat-history) messages oldest first.
      await a.waitFor((f) => f.type === 'text', 3);
      await b.waitFor((f) => f.type === 'text', 3);
      assert.deepEqual(a.frames[0], { type: 'writer', writer: true });
      assert.deepEqual(b.frames[0], { type: 'writer', writer: false });
      assert.deepEqual(texts(a), [['text', 'two'], ['text', 'three'], ['text', 'four']]);
      assert.deepEqual(b.frames.slice(1).map((f) => f.id), [2, 3, 4]);

      a.send({ type: 'text', text: '  hi friend  ' });
      const [live] = await b.waitFor((f) => f.text === 'hi friend');
      assert.equal(typeof live.timestamp, 'string');
      assert.deepEqual(
        { ...live, timestamp: undefined },
        {
          type: 'text',
          id: 5,
          from: { name: 'sockowner', id: ownerProfile!.id, picture: null },
          network: { name: 'streamdelta', icon: null, icon_css: null },
          text: 'hi friend',
          markdown: null,
          timestamp: undefined,
        },
      );
      await a.waitFor((f) => f.text === 'hi friend');
      a.send({ type: 'emote', text: 'waves' });
      await b.waitFor((f) => f.type === 'emote' && f.text === 'waves');

      // Level 1 cannot post: an error frame, nothing stored.
      b.send({ type: 'text', text: 'may I?' });
      const [refused] = await b.waitFor((f) => f.type === 'error');
      assert.equal(refused.reason, 'forbidden');
      assert.match(refused.error, /chat level 2/);
      assert.deepEqual((await core.chat.history(stream.id, 100)).map((m) => m.text), ['one', 'two', 'three', 'four', 'hi friend', 'waves']);

      // Raised to level 2: told so at the next check, and posting works.
      await share(server, stream, friend, 2);
      await b.waitFor((f) => f.type === 'writer' && f.writer === true);
      b.send({ type: 'text', text: 'now I can' });
      const [mine] = await a.waitFor((f) => f.text === 'now I can');
      assert.equal(mine.from.name, 'sockfriend');
      await b.waitFor((f) => f.text === 'now I can');
      // Nobody saw a message twice.
      for (const client of [a, b]) {
        const ids = client.frames.filter((f) => typeof f.id === 'number').map((f) => f.id);
        assert.deepEqual(ids, [...new Set(ids)].sort((x, y) => x - y));
      }
      a.close();
      b.close();
    });

    it('refuses posts over the rate, too long, empty, and frames that are not posts; closes on an oversized frame', async () => {
      const stream = await chatStream(server, owner, 'limits');
      const client = await ChatClient.open(`${http.url}/ws/${stream.number}?token=${owner.token}`);
      await client.waitFor((f) => f.type === 'writer');
      const errors = () => client.frames.filter((f) => f.type === 'error');
      for (const frame of ['not json', '[1]', '{"type":"shout","text":"x"}', '{"text":"x"}']) client.send(frame);
      client.ws.send(Buffer.from('{"type":"text","text":"binary"}'), { binary: true });
      client.send({ type: 'text', text: 'x'.repeat(51) });
      client.send({ type: 'text', text: '   ' });
      client.send({ type: 'text', text: 7 });
      await client.waitFor((f) => f.type === 'error', 8);
      assert.deepEqual(errors().map((f) => f.reason), Array(8).fill('invalid'));
      assert.match(errors()[5].error, /text must be at most 50 characters/);
      for (let i = 1; i <= 4; i++) {
        client.send({ type: 'text', text: `n${i}` });
        // One at a time, so which one is refused is certain.
        await client.waitFor((f) => f.text === `n${i}` || (f.type === 'error' && errors().length > 8));
      }
      const [limited] = errors().slice(8);
      assert.equal(limited.reason, 'rate_limited');
      assert.ok(limited.retry_after >= 59 && limited.retry_after <= 60, String(limited.retry_after));
      assert.deepEqual(texts(client), [['text', 'n1'], ['text', 'n2'], ['text', 'n3']]);
      assert.equal((await server.running.core.chat.history(stream.id, 10)).length, 3);
      // Larger than maxPayload (12 bytes per allowed character + 1 KiB): closed with 1009.
      client.send({ type: 'text', text: 'y'.repeat(50 * 12 + 1024) });
      assert.equal((await client.waitClosed()).code, 1009);
    });

    it("stores and answers one socket's frames in the order they were sent, however long each takes", async () => {
      const stream = await chatStream(server, owner, 'ordered');
      await share(server, stream, friend, 2);
      const client = await ChatClient.open(`${http.url}/ws/${stream.number}?token=${friend.token}`);
      await client.waitFor((f) => f.type === 'writer');
      // The first post is slow to store (a busy database): the ones after it wait their turn.
      const chat = server.running.core.chat;
      const post = chat.post.bind(chat);
      let slowed = false;
      chat.post = async (...args: Parameters<typeof post>) => {
        if (!slowed) {
          slowed = true;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        return post(...args);
      };
      try {
        client.send({ type: 'text', text: 'first' });
        client.send({ type: 'text', text: '' });
        client.send({ type: 'text', text: 'second' });
        client.send('not json');
        await client.waitFor((f) => f.text === 'second');
        await client.waitFor((f) => f.type === 'error', 2);
        const seen = client.frames.filter((f) => f.type === 'text' || f.type === 'error').map((f) => (f.type === 'text' ? f.text : `error:${f.reason}`));
        assert.deepEqual(seen, ['first', 'error:invalid', 'second', 'error:invalid']);
        assert.deepEqual((await chat.history(stream.id, 10)).map((m) => m.text), ['first', 'second']);
      } finally {
        chat.post = post;
        client.close();
      }
    });

    it('delivers injected messages and status lines', async () => {
      const { core } = server.running;
      const stream = await chatStream(server, owner, 'injected');
      await share(server, stream, friend, 1);
      const client = await ChatClient.open(`${http.url}/ws/${stream.number}?token=${friend.token}`);
      await client.waitFor((f) => f.type === 'writer');
      await core.chat.inject(stream.id, {
        network: 'discord',
        network_icon: '<svg></svg>',
        network_icon_css: 'color:red',
        from: { name: 'Some guy', picture: 'https://example.com/p.png' },
        type: 'text',
        text: 'from discord',
        markdown: '**from** discord',
      });
      const [frame] = await client.waitFor((f) => f.text === 'from discord');
      assert.deepEqual(frame.from, { name: 'Some guy', picture: 'https://example.com/p.png' });
      assert.deepEqual(frame.network, { name: 'discord', icon: '<svg></svg>', icon_css: 'color:red' });
      assert.equal(frame.markdown, '**from** discord');
      await core.broadcasts.start(stream.id);
      await core.broadcasts.end(stream.id);
      const statuses = await client.waitFor((f) => f.type === 'status', 2);
      assert.deepEqual(
        statuses.map((f) => [f.status, f.text, f.id]),
        [
          ['live', 'The stream is live.', 2],
          ['ended', 'The stream has ended.', 3],
        ],
      );
      client.close();
    });

    it('answers {"type": "status"} with the stream\'s status: live or not, its accounts while pushing, viewer counts', async () => {
      const { core } = server.running;
      const stream = await chatStream(server, owner, 'status');
      await share(server, stream, friend, 1);
      const mirror = await core.networkAccounts.create(owner.id, {
        network: 'rtmp',
        settings: { name: 'Mirror', url: 'rtmp://mirror.example.com/app/owners-secret-key', http_url: 'https://watch.example.com/mirror' },
      });
      await core.multistreams.update(owner.id, stream.number, { accounts: [{ id: mirror.id }] });
      const client = await ChatClient.open(`${http.url}/ws/${stream.number}?token=${friend.token}`);
      await client.waitFor((f) => f.type === 'writer');
      const ask = async (n: number) => {
        client.send({ type: 'status' });
        const [frame] = (await client.waitFor((f) => f.type === 'status' && f.accounts !== undefined, n)).slice(n - 1);
        assert.ok(!Number.isNaN(Date.parse(frame.timestamp)), frame.timestamp);
        return { ...frame, timestamp: undefined };
      };
      const local = (live: boolean, viewers: number | null) => ({
        network: { name: 'streamdelta', displayName: 'streamdelta' },
        name: 'sockfriend',
        ready: true,
        live,
        writable: false,
        viewer_count: viewers,
      });
      const off = { data_incoming: false, data_pushing: false, data_pulling: false };
      assert.deepEqual(await ask(1), { type: 'status', live: false, status: off, accounts: { 0: local(false, 0) }, timestamp: undefined });

      await core.broadcasts.start(stream.id);
      const pushing = await ask(2);
      assert.deepEqual(pushing.status, { data_incoming: true, data_pushing: true, data_pulling: false });
      assert.equal(pushing.live, true);
      assert.deepEqual(pushing.accounts, {
        0: local(true, null),
        [mirror.id]: {
          network: { name: 'rtmp', displayName: 'Custom RTMP' },
          name: 'Mirror',
          ready: true,
          live: true,
          writable: false,
          http_url: 'https://watch.example.com/mirror',
          viewer_count: null,
        },
      });
      // The viewer count heard last (the node holding the publisher sends one every --chat-viewcount-interval).
      await emit(core.ctx, { type: 'chat.viewcount', streamId: stream.id, viewers: 3, at: new Date().toISOString() });
      await client.waitFor((f) => f.type === 'viewcount');
      assert.deepEqual((await ask(3)).accounts[0], local(true, 3));
      assert.ok(!JSON.stringify(client.frames).includes('owners-secret-key'), 'no publish URL or key in any frame');

      await core.broadcasts.end(stream.id);
      assert.deepEqual(await ask(4), { type: 'status', live: false, status: off, accounts: { 0: local(false, 0) }, timestamp: undefined });
      // The owner writes here (chat level 2); the stored "live"/"ended" lines are still status frames of their own.
      const mine = await ChatClient.open(`${http.url}/ws/${stream.number}?token=${owner.token}`);
      await mine.waitFor((f) => f.type === 'writer');
      mine.send({ type: 'status' });
      const [ownStatus] = await mine.waitFor((f) => f.type === 'status' && f.accounts !== undefined);
      assert.deepEqual(ownStatus.accounts[0], { ...local(false, 0), name: 'sockowner', writable: true });
      assert.deepEqual(client.frames.filter((f) => f.type === 'status' && f.id !== undefined).map((f) => f.status), ['live', 'ended']);
      assert.equal(client.frames.filter((f) => f.type === 'error').length, 0, 'a status request is not an invalid frame');
      client.close();
      mine.close();
    });

    it('is served by the Multistreamer adapter at /ws/:id, and POST /api/v1/stream/:id/msg messages appear there', async () => {
      const stream = await chatStream(server, owner, 'wired');
      await share(server, stream, friend, 1);
      const url = `${server.url.replace(/^http/, 'ws')}/ws/${stream.number}`;
      assert.equal((await refusal(url)).status, 401);
      const client = await ChatClient.open(`${url}?token=${friend.token}`);
      await client.waitFor((f) => f.type === 'writer');
      const body = { network: 'discord', from: { name: 'Some guy', picture: 'https://example.com/profile.png' }, type: 'text', text: 'Hey this is a custom message' };
      const ok = await server.request('POST', `/api/v1/stream/${stream.number}/msg`, { token: owner.token, body });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.json, { status: 'ok' });
      const [frame] = await client.waitFor((f) => f.text === 'Hey this is a custom message');
      assert.deepEqual(frame.from, body.from);
      assert.equal(frame.network.name, 'discord');
      // A bad body is a 400 naming the field, and stores nothing.
      const before = await server.snapshot();
      const bad = await server.request('POST', `/api/v1/stream/${stream.number}/msg`, { token: owner.token, body: { ...body, type: 'shout' } });
      assert.equal(bad.status, 400);
      assert.match(bad.json.error, /type must be "text" or "emote"/);
      // Chat level 1 may not inject.
      const refused = await server.request('POST', `/api/v1/stream/${stream.number}/msg`, { token: friend.token, body });
      assert.equal(refused.status, 400);
      assert.equal(await server.snapshot(), before);
      client.close();
    });

    it('closes a socket whose share is taken away (1008)', async () => {
      const stream = await chatStream(server, owner, 'unshared');
      await share(server, stream, friend, 1);
      const client = await ChatClient.open(`${http.url}/ws/${stream.number}?token=${friend.token}`);
      await client.waitFor((f) => f.type === 'writer');
      await share(server, stream, friend, 0);
      const closed = await client.waitClosed();
      assert.deepEqual(closed, { code: 1008, reason: 'no access to this chat' });
    });

    it('closes a socket whose token died with a password change (1008)', async () => {
      const stream = await chatStream(server, owner, 'password-changed');
      await share(server, stream, friend, 1);
      const client = await ChatClient.open(`${http.url}/ws/${stream.number}?token=${friend.token}`);
      await client.waitFor((f) => f.type === 'writer');
      const accountId = (await server.running.core.accessTokens.accountOf(friend.token))!;
      await server.running.core.accounts.changePassword(accountId, 'correct horse battery', 'a whole new passphrase 42');
      const closed = await client.waitClosed();
      assert.deepEqual(closed, { code: 1008, reason: 'the token is no longer valid' });
    });
  });
}

describe('chat socket URLs in logs', () => {
  it('hide the token of ?token=', () => {
    assert.equal(redactPath('/ws/3?x=1&token=0123456789ABCDEF0123&y=2', CHAT_SOCKET_SECRET_PATHS), '/ws/3?x=1&token=[redacted]&y=2');
    assert.equal(redactPath('/ws/3?token=0123456789ABCDEF0123', CHAT_SOCKET_SECRET_PATHS), '/ws/3?token=[redacted]');
  });
});

describe('chat across two servers sharing PostgreSQL and Redis', () => {
  const databaseUrl = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  it('delivers a message posted on one server to a socket on the other', { skip: !databaseUrl || !redisUrl ? 'needs TEST_DATABASE_URL and TEST_REDIS_URL' : false }, async () => {
    const database = await createTestDatabase('postgres');
    const servers: TestServer[] = [];
    const https: { app: FastifyInstance; url: string }[] = [];
    try {
      for (const nodeId of ['chat-a', 'chat-b']) {
        servers.push(await startTestServer('postgres', { ...SETTINGS, redisUrl: redisUrl!, nodeId }, { database }));
      }
      for (const server of servers) https.push(await chatHttp(server));
      const [a, b] = servers as [TestServer, TestServer];
      const owner = await chatUser(a, 'twonodes');
      const friend = await chatUser(a, 'twonodesfriend');
      const stream = await chatStream(a, owner, 'two-nodes');
      await share(a, stream, friend, 2);
      const onA = await ChatClient.open(`${https[0]!.url}/ws/${stream.number}?token=${owner.token}`);
      const onB = await ChatClient.open(`${https[1]!.url}/ws/${stream.number}?token=${friend.token}`);
      await onA.waitFor((f) => f.type === 'writer');
      await onB.waitFor((f) => f.type === 'writer');
      onA.send({ type: 'text', text: 'from node a' });
      await onB.waitFor((f) => f.text === 'from node a');
      onB.send({ type: 'text', text: 'from node b' });
      await onA.waitFor((f) => f.text === 'from node b');
      await b.running.core.chat.inject(stream.id, { network: 'irc', from: { name: 'n' }, type: 'text', text: 'injected on b' });
      await onA.waitFor((f) => f.text === 'injected on b');
      // The rate limit is one for both nodes: 3 per 60 s in all.
      await a.running.core.chat.post(stream.id, friend.id, { type: 'text', text: 'second' });
      await b.running.core.chat.post(stream.id, friend.id, { type: 'text', text: 'third' });
      onB.send({ type: 'text', text: 'fourth' });
      const [limited] = await onB.waitFor((f) => f.type === 'error');
      assert.equal(limited.reason, 'rate_limited');
      assert.deepEqual(texts(onA), [['text', 'from node a'], ['text', 'from node b'], ['text', 'injected on b'], ['text', 'second'], ['text', 'third']]);
      onA.close();
      onB.close();
    } finally {
      for (const http of https) await http.app.close();
      for (const server of servers) await server.close();
      await database.drop();
    }
  });
});
