/**
 * Multistreamer webhooks delivered to a local HTTP receiver: raw and discord payloads for
 * stream:start, stream:end and comment:in, the HMAC signature verifies with the webhook's
 * secret, a refused delivery is retried, a stream's events stay in order under a failure,
 * and a stream without webhooks sends nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ValidationError } from '../../../../src/core/kernel/errors.js';
import { verifyWebhook } from '../../../../src/core/webhooks/signature.js';
import { databaseKinds } from '../../../helpers/databases.js';
import { hookReceiver, msStream, type HookReceiver, type ReceivedHook } from '../../../helpers/go-live.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../../helpers/server.js';
import { sleep, waitFor } from '../../../media/relay/support.js';

const ALL = { 'stream:start': true, 'stream:end': true, 'comment:in': true };

function verified(hook: ReceivedHook, secret: string): boolean {
  return verifyWebhook(
    secret,
    { signature: hook.headers['x-streamdelta-signature'] as string | undefined, timestamp: hook.headers['x-streamdelta-timestamp'] as string | undefined },
    hook.body,
    new Date(),
  );
}

for (const kind of databaseKinds()) {
  describe(`Multistreamer webhooks (${kind})`, () => {
    let server: TestServer;
    let receiver: HookReceiver;
    before(async () => {
      server = await startTestServer(kind, LOCAL_PEERS);
      receiver = await hookReceiver();
    });
    after(async () => {
      await receiver?.close();
      await server?.close();
    });

    const at = (path: string) => receiver.received.filter((h) => h.path === path);

    test('raw and discord payloads for start, comment and end, each signed with its webhook secret', async () => {
      const core = server.running.core;
      const f = await msStream(server, {
        name: 'Hooked Show',
        rtmpUrl: 'rtmp://127.0.0.1:1/app/never-used',
        httpUrl: 'https://watch.example/hooked',
        webhooks: [
          { url: `${receiver.url}/raw-${kind}`, type: 'raw', events: ALL, notes: 'raw one' },
          { url: `${receiver.url}/discord-${kind}`, type: 'discord', events: ALL, notes: null },
          { url: `${receiver.url}/none-${kind}`, type: 'raw', events: { 'stream:start': false }, notes: null },
        ],
      });
      const hooks = await core.webhooks.list(f.streamId);
      assert.equal(hooks.length, 3);
      assert.match(hooks[0]!.secret, /^[0-9a-f]{64}$/);
      assert.notEqual(hooks[0]!.secret, hooks[1]!.secret);
      const [account] = await core.networkAccounts.ofStream(f.streamId);

      await core.broadcasts.start(f.streamId);
      await core.chat.inject(f.streamId, { type: 'text', text: 'hello there', network: 'twitch', from: { name: 'viewer1', picture: 'https://img.example/v.png' } });
      await core.chat.inject(f.streamId, { type: 'emote', text: 'waves', network: 'youtube', from: { name: 'viewer2' } });
      await core.broadcasts.end(f.streamId);
      await waitFor('4 raw and 4 discord deliveries', () => at(`/raw-${kind}`).length === 4 && at(`/discord-${kind}`).length === 4, 15_000);

      const user = { id: f.userNumber, username: f.username };
      const stream = { id: f.number, slug: 'hooked-show', name: 'Hooked Show' };
      const raw = at(`/raw-${kind}`);
      assert.deepEqual(raw.map((h) => h.json), [
        {
          hook_type: 'stream:start',
          user,
          stream,
          accounts: [{ id: account!.id, name: 'receiver', slug: account!.slug, network: { name: 'rtmp', displayname: 'Custom RTMP' }, http_url: 'https://watch.example/hooked' }],
        },
        {
          hook_type: 'comment:in',
          type: 'text',
          text: 'hello there',
          markdown: 'hello there',
          from: { name: 'viewer1', id: null, picture: 'https://img.example/v.png' },
          network: { name: 'twitch', displayname: 'Twitch', icon: null, icon_css: null },
          account: { id: null },
          stream: { id: f.number },
          user,
        },
        {
          hook_type: 'comment:in',
          type: 'emote',
          text: 'waves',
          markdown: 'waves',
          from: { name: 'viewer2', id: null },
          network: { name: 'youtube', displayname: 'YouTube', icon: null, icon_css: null },
          account: { id: null },
          stream: { id: f.number },
          user,
        },
        { hook_type: 'stream:end', user, stream },
      ]);
      assert.deepEqual(at(`/discord-${kind}`).map((h) => h.json), [
        { content: `${f.username} is now streaming! https://watch.example/hooked`, username: f.username },
        { content: 'hello there', username: 'viewer1 @ Twitch', avatar_url: 'https://img.example/v.png' },
        { content: 'waves', username: 'viewer2 @ YouTube' },
        { content: `${f.username} has stopped streaming`, username: f.username },
      ]);
      assert.equal(at(`/none-${kind}`).length, 0, 'a hook with every event off gets nothing');

      for (const hook of raw) {
        assert.equal(hook.headers['content-type'], 'application/json');
        assert.ok(verified(hook, hooks[0]!.secret), 'the raw hook verifies with its secret');
        assert.ok(!verified(hook, hooks[1]!.secret), 'and not with another hook’s');
        assert.match(String(hook.headers['x-streamdelta-delivery']), /^[0-9a-f-]{36}$/);
      }
      assert.deepEqual(raw.map((h) => h.headers['x-streamdelta-event']), ['stream:start', 'comment:in', 'comment:in', 'stream:end']);
      for (const hook of at(`/discord-${kind}`)) assert.ok(verified(hook, hooks[1]!.secret));
      // A tampered body or a stale timestamp does not verify.
      const first = raw[0]!;
      assert.ok(!verifyWebhook(hooks[0]!.secret, { signature: first.headers['x-streamdelta-signature'] as string, timestamp: first.headers['x-streamdelta-timestamp'] as string }, first.body + ' ', new Date()));
      assert.ok(!verifyWebhook(hooks[0]!.secret, { signature: first.headers['x-streamdelta-signature'] as string, timestamp: first.headers['x-streamdelta-timestamp'] as string }, first.body, new Date(Date.now() + 3600_000)));
    });

    test('a refused delivery is retried, and the stream’s later events wait for it', async () => {
      const core = server.running.core;
      const path = `/retry-${kind}`;
      const f = await msStream(server, { webhooks: [{ url: `${receiver.url}${path}`, type: 'raw', events: ALL, notes: null }] });
      receiver.failNext(1);
      await core.broadcasts.start(f.streamId);
      await core.chat.inject(f.streamId, { type: 'text', text: 'one', network: 'twitch', from: { name: 'a' } });
      await core.chat.inject(f.streamId, { type: 'text', text: 'two', network: 'twitch', from: { name: 'a' } });
      await core.broadcasts.end(f.streamId);
      await waitFor('all four after a retry', () => at(path).length === 4, 20_000);
      const refused = receiver.refused.filter((h) => h.path === path);
      assert.equal(refused.length, 1);
      assert.equal(refused[0]!.json.hook_type, 'stream:start', 'the first delivery was the refused one');
      assert.deepEqual(at(path).map((h) => h.json.hook_type === 'comment:in' ? h.json.text : h.json.hook_type), ['stream:start', 'one', 'two', 'stream:end']);
      assert.equal(refused[0]!.headers['x-streamdelta-delivery'], at(path)[0]!.headers['x-streamdelta-delivery'], 'a retry is the same delivery');
      assert.ok(at(path)[0]!.at - refused[0]!.at >= 1500, 'retried after a pause');
    });

    test('nothing is sent for a stream without webhooks', async () => {
      const core = server.running.core;
      const f = await msStream(server);
      const before = receiver.received.length + receiver.refused.length;
      const queued = async () => (await server.running.store.db.selectFrom('callbacks').select('id').where('event', 'in', ['stream:start', 'stream:end', 'comment:in']).execute()).length;
      const queuedBefore = await queued();
      await core.broadcasts.start(f.streamId);
      await core.chat.inject(f.streamId, { type: 'text', text: 'unheard', network: 'twitch', from: { name: 'a' } });
      await core.broadcasts.end(f.streamId);
      await sleep(1500);
      assert.equal(receiver.received.length + receiver.refused.length, before);
      assert.equal(await queued(), queuedBefore);
    });

    test('replace validates everything first and keeps the secret of a hook it keeps', async () => {
      const core = server.running.core;
      const f = await msStream(server, { webhooks: [{ url: `${receiver.url}/keep`, type: 'raw', events: ALL, notes: null }] });
      const [kept] = await core.webhooks.list(f.streamId);
      const before = await server.snapshot();
      for (const bad of [
        [{ url: 'ftp://example.com/x', type: 'raw', events: ALL, notes: null }],
        [{ url: `${receiver.url}/x`, type: 'slack', events: ALL, notes: null }],
        [{ url: `${receiver.url}/x`, type: 'raw', events: { 'stream:begin': true }, notes: null }],
        [{ url: `${receiver.url}/x`, type: 'raw', events: { 'stream:start': 'yes' }, notes: null }],
        [{ url: `${receiver.url}/ok`, type: 'raw', events: ALL, notes: null }, { url: 'not a url', type: 'raw', events: ALL, notes: null }],
      ]) {
        await assert.rejects(core.webhooks.replace(f.streamId, bad as never), ValidationError, JSON.stringify(bad));
      }
      assert.equal(await server.snapshot(), before, 'refused lists changed nothing');
      const replaced = await core.webhooks.replace(f.streamId, [
        { url: `${receiver.url}/new`, type: 'discord', events: { 'stream:start': true }, notes: 'n' },
        { url: `${receiver.url}/keep`, type: 'raw', events: { 'comment:in': true }, notes: null },
      ]);
      assert.equal(replaced[1]!.id, kept!.id);
      assert.equal(replaced[1]!.secret, kept!.secret);
      assert.deepEqual(replaced[1]!.events, { 'stream:start': false, 'stream:end': false, 'comment:in': true });
      assert.notEqual(replaced[0]!.secret, kept!.secret);
      assert.deepEqual(await core.webhooks.replace(f.streamId, []), []);
    });
  });
}
