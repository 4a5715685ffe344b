/**
 * The Multistreamer flow as a user drives it, through public interfaces only: sign up (rig),
 * `GET /api/v1/auth` for the token, a custom RTMP account pointing at an ffmpeg RTMP receiver,
 * a preview_required stream with raw and discord webhooks, an ffmpeg encoder publishing to the
 * stream's uuid, the HLS preview, `PATCH` to go live and to stop, a chat message injected with
 * `/msg` reaching the webhook and a WebSocket client; and a puller started and stopped with
 * `PATCH {data_pulling}`.
 *
 * The Multistreamer answers carry the integer stream id and the uuid (the RTMP key), not the
 * platform stream id that `/hls/<id>/` is named by; the owner finds it as rig shows it:
 * `GET /streams/` (the same login) lists `{id, streamKey}`, and the key is the uuid.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChatClient } from '../api/multistreamer/chat-support.js';
import { ms, msUser, type MsUser } from '../api/multistreamer/support.js';
import { databaseKinds } from '../helpers/databases.js';
import { hookReceiver, type HookReceiver, type ReceivedHook } from '../helpers/go-live.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../helpers/server.js';
import { run } from '../media/e2e/support.js';
import { assertDecodable, inspect, isListening, publish, sleep, startFfmpegReceiver, waitFor, type FfmpegReceiver, type Publisher } from '../media/relay/support.js';
import { ffmpegMissing, makeFlv, tempDir } from '../media/support.js';

const ALL_EVENTS = { 'stream:start': true, 'stream:end': true, 'comment:in': true };

/** The README's scheme, computed here rather than with the server's own code: HMAC-SHA256 of "<timestamp>.<body>". */
function signatureVerifies(hook: ReceivedHook, secret: string): boolean {
  const timestamp = String(hook.headers['x-streamdelta-timestamp'] ?? '');
  const signature = String(hook.headers['x-streamdelta-signature'] ?? '');
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${hook.body}`).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The platform stream id (what `/hls/<id>/` is named by) of the stream whose key is `uuid`, as rig lists the user's streams. */
async function platformStreamId(server: TestServer, user: MsUser, uuid: string): Promise<string> {
  const login = await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: user.password } });
  assert.equal(login.status, 200, login.text);
  const list = await server.request('GET', '/streams/', { token: login.json.payload.token });
  assert.equal(list.status, 200, list.text);
  const found = (list.json.payload as { id: string; streamKey: string }[]).find((s) => s.streamKey === uuid);
  assert.ok(found, 'rig lists the Multistreamer stream with its uuid as the key');
  return found.id;
}

/** `PATCH /stream/:id`: with no body at all (the status), or with `body`. */
async function status(server: TestServer, user: MsUser, number: number, body?: Record<string, unknown>): Promise<{ data_incoming: boolean; data_pushing: boolean; data_pulling: boolean }> {
  const r = await ms(server, 'PATCH', `/stream/${number}`, user, body === undefined ? {} : { body });
  assert.equal(r.status, 200, r.text);
  return r.json.status;
}

/**
 * Waits for the live HLS playlist to list a segment, then plays it with ffprobe over HTTP
 * (asynchronously: the server runs in this process).
 */
async function assertHlsPlays(server: TestServer, streamId: string): Promise<void> {
  const path = `/hls/${streamId}/index.m3u8`;
  await waitFor('the live playlist to list a segment', async () => {
    const reply = await server.request('GET', path);
    return reply.status === 200 && /#EXTINF/.test(reply.text);
  }, 15_000);
  const url = `${server.url}${path}`;
  const probe = await run('ffprobe', ['-v', 'error', '-of', 'json', '-show_entries', 'stream=codec_type,codec_name', url], 20_000);
  assert.equal(probe.code, 0, `ffprobe ${url}: ${probe.stderr}`);
  assert.equal(probe.stderr, '', `ffprobe ${url} reported errors`);
  const streams = (JSON.parse(probe.stdout).streams ?? []) as { codec_type: string; codec_name: string }[];
  assert.deepEqual(streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:aac', 'video:h264']);
}

for (const kind of databaseKinds()) {
  describe(`Multistreamer go-live, chat and webhooks end to end (${kind})`, { skip: ffmpegMissing }, () => {
    const dir = tempDir(`ms-go-live-${kind}`);
    let server: TestServer;
    let hooks: HookReceiver;
    let receiver: FfmpegReceiver | undefined;
    let publisher: Publisher | undefined;
    let chat: ChatClient | undefined;

    before(async () => {
      // The puller's source is a file of this directory: only there may pullers read local files.
      server = await startTestServer(kind, { ...LOCAL_PEERS, reconnectWindow: '0', pullFileDir: dir.path });
      hooks = await hookReceiver();
    });
    after(async () => {
      chat?.close();
      publisher?.kill();
      await publisher?.done;
      await receiver?.kill();
      await hooks?.close();
      await server?.close();
      dir.remove();
    });

    test('preview, go live to an ffmpeg receiver, webhooks signed, chat to a socket and a webhook, stop', async () => {
      const source = join(dir.path, 'source.flv');
      makeFlv(source, 'av', 40);
      receiver = await startFfmpegReceiver(dir.path, 'account', { app: 'live', name: 'x' });

      // 1. A platform account (rig sign-up) and its Multistreamer token from GET /auth.
      const user = await msUser(server, 'golive');
      assert.match(user.token, /^[0-9A-F]{20}$/);

      // 2. A custom RTMP account whose URL is the receiver.
      const created = await ms(server, 'POST', '/account', user, {
        body: { network: 'rtmp', settings: { name: 'My receiver', url: receiver.url, http_url: 'https://watch.example/me' } },
      });
      assert.equal(created.status, 200, created.text);
      const account = created.json.account;
      assert.equal(account.network, 'rtmp');
      assert.equal(account.settings.url, receiver.url);

      // 3. A stream with a preview, the account attached, a raw and a discord webhook.
      const made = await ms(server, 'POST', '/stream', user, {
        body: {
          name: 'Evening Show',
          preview_required: 1,
          accounts: [{ id: account.id, settings: {} }],
          webhooks: [
            { url: `${hooks.url}/raw`, type: 'raw', events: ALL_EVENTS, notes: 'mine' },
            { url: `${hooks.url}/discord`, type: 'discord', events: ALL_EVENTS, notes: null },
          ],
        },
      });
      assert.equal(made.status, 200, made.text);
      const number: number = made.json.stream.id;
      const uuid: string = made.json.stream.uuid;
      assert.equal(made.json.stream.preview_required, 1);
      assert.deepEqual(made.json.stream.accounts.map((a: { id: number }) => a.id), [account.id]);
      const shown = await ms(server, 'GET', `/stream/${number}`, user);
      assert.equal(shown.status, 200, shown.text);
      const secrets = new Map<string, string>(shown.json.stream.webhooks.map((w: { type: string; secret: string }) => [w.type, w.secret]));
      assert.match(secrets.get('raw') ?? '', /^[0-9a-f]{64}$/);
      assert.match(secrets.get('discord') ?? '', /^[0-9a-f]{64}$/);
      const streamId = await platformStreamId(server, user, uuid);
      const at = (path: string) => hooks.received.filter((h) => h.path === path);

      // 4. An encoder publishes to the uuid: a preview only.
      publisher = publish(server.running.rtmpPort, uuid, source, server.running.config.rtmpApp);
      await waitFor('data_incoming', async () => (await status(server, user, number)).data_incoming, 15_000);
      assert.deepEqual(await status(server, user, number), { data_incoming: true, data_pushing: false, data_pulling: false });
      assert.deepEqual(await status(server, user, number, {}), { data_incoming: true, data_pushing: false, data_pulling: false });
      await assertHlsPlays(server, streamId);
      assert.equal((await ms(server, 'GET', `/stream/${number}`, user)).json.stream.live, false, 'not live during the preview');
      assert.ok(receiver.running && isListening(receiver.port) !== false, 'the receiver still waits for a publisher');
      assert.ok(!existsSync(receiver.file), 'the receiver has written nothing');
      assert.equal(hooks.received.length + hooks.refused.length, 0, 'no webhook during the preview');

      // 5. Go live: the receiver gets the stream, stream:start goes to both hooks, signed.
      assert.deepEqual(await status(server, user, number, { data_pushing: true }), { data_incoming: true, data_pushing: true, data_pulling: false });
      assert.deepEqual(await status(server, user, number), { data_incoming: true, data_pushing: true, data_pulling: false });
      assert.equal((await ms(server, 'GET', `/stream/${number}`, user)).json.stream.live, true);
      await waitFor('stream:start on both hooks', () => at('/raw').length >= 1 && at('/discord').length >= 1, 15_000);
      await waitFor('the receiver to write', () => existsSync(receiver!.file), 15_000);

      const owner = { id: user.id, username: user.username };
      const stream = { id: number, slug: 'evening-show', name: 'Evening Show' };
      assert.deepEqual(at('/raw')[0]!.json, {
        hook_type: 'stream:start',
        user: owner,
        stream,
        accounts: [{ id: account.id, name: account.name, slug: account.slug, network: { name: 'rtmp', displayname: 'Custom RTMP' }, http_url: 'https://watch.example/me' }],
      });
      assert.deepEqual(at('/discord')[0]!.json, { content: `${user.username} is now streaming! https://watch.example/me`, username: user.username });

      // 6. A chat message injected with /msg: a socket gets it, and so does the raw hook as comment:in.
      chat = await ChatClient.open(`${server.url.replace(/^http/, 'ws')}/ws/${number}?token=${user.token}`);
      await chat.waitFor((f) => f.type === 'writer');
      const message = { network: 'twitch', from: { name: 'viewer1', picture: 'https://img.example/v.png' }, type: 'text', text: 'hello from twitch' };
      const injected = await ms(server, 'POST', `/stream/${number}/msg`, user, { body: message });
      assert.equal(injected.status, 200, injected.text);
      assert.deepEqual(injected.json, { status: 'ok' });
      const [frame] = await chat.waitFor((f) => f.type === 'text' && f.text === 'hello from twitch');
      assert.deepEqual(frame.from, message.from);
      assert.equal(frame.network.name, 'twitch');
      await waitFor('comment:in on both hooks', () => at('/raw').length >= 2 && at('/discord').length >= 2, 15_000);
      assert.deepEqual(at('/raw')[1]!.json, {
        hook_type: 'comment:in',
        type: 'text',
        text: 'hello from twitch',
        markdown: 'hello from twitch',
        from: { name: 'viewer1', id: null, picture: 'https://img.example/v.png' },
        network: { name: 'twitch', displayname: 'Twitch', icon: null, icon_css: null },
        account: { id: null },
        stream: { id: number },
        user: owner,
      });
      assert.deepEqual(at('/discord')[1]!.json, { content: 'hello from twitch', username: 'viewer1 @ Twitch', avatar_url: 'https://img.example/v.png' });

      // 7. Stop pushing: the receiver's input ends and ffmpeg finishes its file; stream:end follows.
      await sleep(2000);
      assert.deepEqual(await status(server, user, number, { data_pushing: false }), { data_incoming: true, data_pushing: false, data_pulling: false });
      assert.equal(await receiver.finish(15_000), 0, receiver.stderr());
      const got = inspect(receiver.file);
      assertDecodable('receiver', got);
      assert.equal(got.videoCodec, 'h264');
      assert.equal(got.audioCodec, 'aac');
      assert.ok(got.videoSeconds >= 1.5, `the receiver got the pushed part (${got.videoSeconds} s)`);
      assert.deepEqual(await status(server, user, number), { data_incoming: true, data_pushing: false, data_pulling: false }, 'the encoder goes on');
      assert.equal((await ms(server, 'GET', `/stream/${number}`, user)).json.stream.live, false);

      publisher.kill();
      await publisher.done;
      publisher = undefined;
      await waitFor('data_incoming off', async () => !(await status(server, user, number)).data_incoming, 10_000);
      await waitFor('stream:end on both hooks', () => at('/raw').length >= 3 && at('/discord').length >= 3, 15_000);
      await sleep(1500); // the end of the broadcast (relays already off) must not send a second stream:end
      assert.deepEqual(at('/raw').map((h) => h.json.hook_type), ['stream:start', 'comment:in', 'stream:end']);
      assert.deepEqual(at('/raw')[2]!.json, { hook_type: 'stream:end', user: owner, stream });
      assert.equal(at('/discord').length, 3);
      assert.deepEqual(at('/discord')[2]!.json, { content: `${user.username} has stopped streaming`, username: user.username });
      assert.equal(hooks.refused.length, 0);

      // Every delivery: JSON, its event named, signed with its own hook's secret (and not the other's).
      for (const [path, type, other] of [['/raw', 'raw', 'discord'], ['/discord', 'discord', 'raw']] as const) {
        assert.deepEqual(at(path).map((h) => h.headers['x-streamdelta-event']), ['stream:start', 'comment:in', 'stream:end']);
        for (const hook of at(path)) {
          assert.equal(hook.headers['content-type'], 'application/json');
          assert.ok(signatureVerifies(hook, secrets.get(type)!), `${path} ${hook.headers['x-streamdelta-event']} verifies with its secret`);
          assert.ok(!signatureVerifies(hook, secrets.get(other)!), `${path} does not verify with the other hook's secret`);
          assert.ok(!signatureVerifies({ ...hook, body: `${hook.body} ` }, secrets.get(type)!), 'a changed body does not verify');
        }
        assert.equal(new Set(at(path).map((h) => h.headers['x-streamdelta-delivery'])).size, 3, 'one delivery id per event');
      }
    });

    test('a puller through the API: ffmpeg_pull_args, data_pulling on makes the stream live, off stops it', async () => {
      const source = join(dir.path, 'pulled source.flv');
      makeFlv(source, 'av', 4);
      const user = await msUser(server, 'puller');
      const made = await ms(server, 'POST', '/stream', user, { body: { name: 'Pulled' } });
      assert.equal(made.status, 200, made.text);
      const number: number = made.json.stream.id;
      const pullArgs = `-re -stream_loop -1 -i '${source}' -c copy`;
      const updated = await ms(server, 'POST', `/stream/${number}`, user, { body: { ffmpeg_pull_args: pullArgs } });
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.json.stream.ffmpeg_pull_args, pullArgs);
      const streamId = await platformStreamId(server, user, made.json.stream.uuid);
      assert.deepEqual(await status(server, user, number), { data_incoming: false, data_pushing: false, data_pulling: false });

      assert.equal((await status(server, user, number, { data_pulling: true })).data_pulling, true);
      await waitFor('the pulled stream to come in', async () => (await status(server, user, number)).data_incoming, 15_000);
      await assertHlsPlays(server, streamId);
      // -stream_loop: still pulling after the 4 s file has been read once.
      // No preview required: the broadcast pushes from its start (to no account here).
      await sleep(5000);
      assert.deepEqual(await status(server, user, number), { data_incoming: true, data_pushing: true, data_pulling: true });

      assert.equal((await status(server, user, number, { data_pulling: false })).data_pulling, false);
      await waitFor('the pulled stream to stop', async () => !(await status(server, user, number)).data_incoming, 10_000);
      await sleep(1500);
      assert.deepEqual(await status(server, user, number), { data_incoming: false, data_pushing: false, data_pulling: false }, 'the puller stays off');
      const vod = await server.request('GET', `/hls/${streamId}/vod.m3u8`);
      assert.equal(vod.status, 200, vod.text);
      assert.match(vod.text, /#EXT-X-ENDLIST/, 'the pulled broadcast ended and its recording is finished');
    });
  });
}
