/**
 * The live streams of streamdelta's own API through the official Mux SDK: credentials and their
 * errors, create/list/retrieve/update/delete with Mux's fields, auto-pagination, playback ids and
 * simulcast targets, read-only tokens, other accounts' objects, administrators, streams made by
 * another API, Mux features this server does not have, and bad input that changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { failure, Mux, muxAccount, raw, sdk } from './support.js';

for (const kind of databaseKinds()) {
  describe(`live streams through the Mux SDK (${kind})`, () => {
    let server: TestServer;

    before(async () => {
      // No private peers allowed: a simulcast target on this machine is refused, as in production.
      server = await startTestServer(kind);
    });

    after(async () => {
      await server?.close();
    });

    test('wrong, missing and revoked credentials are a 401 in Mux’s shape', async () => {
      const a = await muxAccount(server);
      const none = await raw(server, 'GET', '/video/v1/live-streams');
      assert.equal(none.status, 401);
      assert.equal(none.json.error.type, 'unauthorized');
      assert.ok(none.json.error.messages.length > 0);
      const wrong = await failure(sdk(server, a.tokenId, 'not-the-secret').video.liveStreams.list());
      assert.ok(wrong instanceof Mux.AuthenticationError, String(wrong));
      const unknown = await raw(server, 'GET', '/video/v1/live-streams/whatever', { auth: 'Basic bm9ib2R5Om5vdGhpbmc=' });
      assert.equal(unknown.status, 401, 'credentials are checked before anything is looked up');
      assert.equal((await raw(server, 'GET', '/video/v1/nothing-here', { auth: a.basic })).json.error.type, 'not_found');
      await server.running.core.liveApiTokens.revoke(a.tokenId);
      assert.ok((await failure(a.mux.video.liveStreams.list())) instanceof Mux.AuthenticationError, 'a revoked token opens nothing');
    });

    test('a live stream is made, read, changed and deleted with Mux’s fields', async () => {
      const { mux } = await muxAccount(server);
      const made = await mux.video.liveStreams.create({
        playback_policy: ['public', 'signed'],
        new_asset_settings: { playback_policy: ['signed'], passthrough: 'asset text' } as never,
        passthrough: 'stream text',
        latency_mode: 'low',
        max_continuous_duration: 3600,
        test: true,
        audio_only: false,
        meta: { title: 'Morning show' },
        an_unknown_field: 'ignored, as Mux ignores it',
      } as never);
      assert.equal(made.status, 'idle');
      assert.match(made.stream_key, /^[\w-]{22}$/);
      assert.deepEqual(made.playback_ids?.map((p) => p.policy), ['public', 'signed']);
      assert.equal(made.latency_mode, 'low');
      assert.equal(made.reconnect_window, 0, 'Mux: low latency streams end at once unless told');
      assert.equal(made.max_continuous_duration, 3600);
      assert.equal(made.passthrough, 'stream text');
      assert.equal(made.test, true);
      assert.deepEqual(made.meta, { title: 'Morning show' });
      assert.deepEqual((made.new_asset_settings as { playback_policies?: string[] }).playback_policies, ['signed']);

      const defaults = await mux.video.liveStreams.create({});
      assert.equal(defaults.reconnect_window, 60);
      assert.equal(defaults.max_continuous_duration, 43200);
      assert.equal(defaults.latency_mode, 'standard');
      assert.deepEqual(defaults.playback_ids, []);

      const updated = await mux.video.liveStreams.update(made.id, { reconnect_window: 120, passthrough: '', latency_mode: 'standard' });
      assert.equal(updated.reconnect_window, 120);
      assert.equal(updated.passthrough, undefined, 'an empty passthrough clears it');
      assert.equal(updated.latency_mode, 'standard');
      assert.equal((await mux.video.liveStreams.retrieve(made.id)).reconnect_window, 120);

      const reset = await mux.video.liveStreams.resetStreamKey(made.id);
      assert.notEqual(reset.stream_key, made.stream_key);
      assert.equal(await server.running.core.streams.findByKey(made.stream_key), undefined, 'the old key opens nothing');

      await mux.video.liveStreams.disable(made.id);
      assert.equal((await mux.video.liveStreams.retrieve(made.id)).status, 'disabled');
      await mux.video.liveStreams.enable(made.id);
      assert.equal((await mux.video.liveStreams.retrieve(made.id)).status, 'idle');
      await mux.video.liveStreams.complete(made.id);

      await mux.video.liveStreams.delete(made.id);
      assert.ok((await failure(mux.video.liveStreams.retrieve(made.id))) instanceof Mux.NotFoundError);
      assert.ok((await failure(mux.video.playbackIds.retrieve(made.playback_ids![0]!.id))) instanceof Mux.NotFoundError, 'its playback ids play nothing');
    });

    test('the SDK walks every page of the list, newest first', async () => {
      const { mux } = await muxAccount(server);
      const made = [];
      for (let i = 0; i < 5; i++) made.push((await mux.video.liveStreams.create({ passthrough: `n${i}` })).id);
      const seen = [];
      for await (const s of mux.video.liveStreams.list({ limit: 2 })) seen.push(s.id);
      assert.deepEqual(seen, [...made].reverse());
      const page = await mux.video.liveStreams.list({ limit: 2, page: 3 });
      assert.deepEqual(page.data.map((s) => s.id), [made[0]]);
      const tooMany = await raw(server, 'GET', '/video/v1/live-streams?limit=101', { auth: (await muxAccount(server)).basic });
      assert.equal(tooMany.status, 400);
    });

    test('the list finds a stream by its key, and by status', async () => {
      const { mux } = await muxAccount(server);
      const one = await mux.video.liveStreams.create({});
      const two = await mux.video.liveStreams.create({});
      await mux.video.liveStreams.disable(two.id);
      assert.deepEqual((await mux.video.liveStreams.list({ stream_key: one.stream_key })).data.map((s) => s.id), [one.id]);
      assert.deepEqual((await mux.video.liveStreams.list({ stream_key: 'not-a-key' })).data, []);
      assert.deepEqual((await mux.video.liveStreams.list({ status: 'disabled' })).data.map((s) => s.id), [two.id]);
      assert.deepEqual((await mux.video.liveStreams.list({ status: 'idle' })).data.map((s) => s.id), [one.id]);
      assert.deepEqual((await mux.video.liveStreams.list({ status: 'active' })).data, []);
      const other = await muxAccount(server);
      assert.deepEqual((await other.mux.video.liveStreams.list({ stream_key: one.stream_key })).data, [], 'another account’s key finds nothing');
    });

    test('playback ids and simulcast targets are added, read and removed', async () => {
      const { mux } = await muxAccount(server);
      const stream = await mux.video.liveStreams.create({});
      const pid = await mux.video.liveStreams.createPlaybackId(stream.id, { policy: 'signed' });
      assert.equal(pid.policy, 'signed');
      assert.deepEqual(await mux.video.liveStreams.retrievePlaybackId(stream.id, pid.id), pid);
      assert.deepEqual(await mux.video.playbackIds.retrieve(pid.id), { id: pid.id, policy: 'signed', object: { id: stream.id, type: 'live_stream' } });
      await mux.video.liveStreams.deletePlaybackId(stream.id, pid.id);
      assert.ok((await failure(mux.video.liveStreams.retrievePlaybackId(stream.id, pid.id))) instanceof Mux.NotFoundError);

      const target = await mux.video.liveStreams.createSimulcastTarget(stream.id, { url: 'rtmps://live.example.com:443/app', stream_key: 'secret-key', passthrough: 'YouTube' });
      assert.deepEqual(target, { id: target.id, url: 'rtmps://live.example.com:443/app', stream_key: 'secret-key', passthrough: 'YouTube', status: 'idle' });
      assert.deepEqual(await mux.video.liveStreams.retrieveSimulcastTarget(stream.id, target.id), target);
      assert.deepEqual((await mux.video.liveStreams.retrieve(stream.id)).simulcast_targets, [target]);
      await mux.video.liveStreams.deleteSimulcastTarget(stream.id, target.id);
      assert.deepEqual((await mux.video.liveStreams.retrieve(stream.id)).simulcast_targets, []);
    });

    test('a stream made through another API is a live stream here, and the other way round', async () => {
      const a = await muxAccount(server);
      const rigStream = await server.running.core.streams.create(a.accountId);
      const seen = await a.mux.video.liveStreams.retrieve(rigStream.id);
      assert.equal(seen.stream_key, rigStream.key);
      assert.equal(seen.status, 'idle');
      const made = await a.mux.video.liveStreams.create({});
      const owned = await server.running.core.streams.listOwned(a.accountId);
      assert.ok(owned.some((s) => s.id === made.id), 'the core’s stream list has it');
    });

    test('a read-only token reads and writes nothing', async () => {
      const a = await muxAccount(server);
      const stream = await a.mux.video.liveStreams.create({});
      const token = await server.running.core.liveApiTokens.create(a.accountId, { readOnly: true });
      const reader = sdk(server, token.id, token.secret);
      assert.equal((await reader.video.liveStreams.retrieve(stream.id)).id, stream.id);
      const before = await server.snapshot();
      for (const call of [() => reader.video.liveStreams.create({}), () => reader.video.liveStreams.disable(stream.id), () => reader.video.liveStreams.delete(stream.id), () => reader.system.signingKeys.create()]) {
        const err: any = await failure(call());
        assert.ok(err instanceof Mux.PermissionDeniedError, String(err));
        assert.equal((err.error as any).error.type, 'forbidden');
      }
      assert.equal(await server.snapshot(), before);
    });

    test('another account’s objects are not found; an administrator sees every account’s', async () => {
      const a = await muxAccount(server);
      const b = await muxAccount(server);
      const admin = await muxAccount(server, { admin: true });
      const stream = await a.mux.video.liveStreams.create({ playback_policy: 'public' as never });
      const pid = stream.playback_ids![0]!.id;
      for (const call of [
        () => b.mux.video.liveStreams.retrieve(stream.id),
        () => b.mux.video.liveStreams.update(stream.id, { passthrough: 'mine now' }),
        () => b.mux.video.liveStreams.delete(stream.id),
        () => b.mux.video.liveStreams.resetStreamKey(stream.id),
        () => b.mux.video.liveStreams.createPlaybackId(stream.id, { policy: 'public' }),
        () => b.mux.video.playbackIds.retrieve(pid),
      ]) {
        assert.ok((await failure(call())) instanceof Mux.NotFoundError);
      }
      const listed = [];
      for await (const s of b.mux.video.liveStreams.list()) listed.push(s.id);
      assert.ok(!listed.includes(stream.id));
      assert.equal((await admin.mux.video.liveStreams.retrieve(stream.id)).stream_key, stream.stream_key);
      const all = [];
      for await (const s of admin.mux.video.liveStreams.list({ limit: 100 })) all.push(s.id);
      assert.ok(all.includes(stream.id));
    });

    test('each bad input is a 400 naming the field, and changes nothing', async () => {
      const a = await muxAccount(server);
      const stream = await a.mux.video.liveStreams.create({});
      const bad: [string, string, unknown][] = [
        ['POST', '/video/v1/live-streams', { reconnect_window: '60' }],
        ['POST', '/video/v1/live-streams', { reconnect_window: -1 }],
        ['POST', '/video/v1/live-streams', { reconnect_window: 1801 }],
        ['POST', '/video/v1/live-streams', { max_continuous_duration: 59 }],
        ['POST', '/video/v1/live-streams', { max_continuous_duration: 43201 }],
        ['POST', '/video/v1/live-streams', { max_continuous_duration: 100.5 }],
        ['POST', '/video/v1/live-streams', { passthrough: 'x'.repeat(256) }],
        ['POST', '/video/v1/live-streams', { latency_mode: 'ultra' }],
        ['POST', '/video/v1/live-streams', { playback_policy: ['nope'] }],
        ['POST', '/video/v1/live-streams', { playback_policy: ['drm'] }],
        ['POST', '/video/v1/live-streams', { test: 'yes' }],
        ['POST', '/video/v1/live-streams', { simulcast_targets: [{ url: 'http://example.com/live' }] }],
        ['POST', '/video/v1/live-streams', { simulcast_targets: [{ url: 'rtmp://127.0.0.1/live', stream_key: 'k' }] }],
        ['POST', '/video/v1/live-streams', { simulcast_targets: [{ stream_key: 'k' }] }],
        ['POST', '/video/v1/live-streams', { embedded_subtitles: [{ language_channel: 'cc1' }] }],
        ['POST', '/video/v1/live-streams', { reconnect_slate_url: 'https://example.com/slate.png' }],
        ['POST', '/video/v1/live-streams', []],
        ['PATCH', `/video/v1/live-streams/${stream.id}`, { reconnect_window: 'soon' }],
        ['PATCH', `/video/v1/live-streams/${stream.id}`, { max_continuous_duration: 10 }],
        ['POST', `/video/v1/live-streams/${stream.id}/playback-ids`, { policy: 'private' }],
        ['POST', `/video/v1/live-streams/${stream.id}/simulcast-targets`, { url: 'ftp://example.com/x' }],
        ['POST', `/video/v1/live-streams/${stream.id}/simulcast-targets`, { url: 'rtmp://10.0.0.8/live', stream_key: 'k' }],
        ['POST', `/video/v1/live-streams/${stream.id}/simulcast-targets`, { url: 'rtmp://example.com/live', stream_key: 'bad key/with slash' }],
        ['POST', '/video/v1/assets', { input: 'https://example.com/video.mp4' }],
        ['POST', '/video/v1/uploads', { new_asset_settings: {} }],
        ['PUT', `/video/v1/live-streams/${stream.id}/embedded-subtitles`, { embedded_subtitles: [] }],
        ['GET', '/video/v1/assets?cursor=garbage', undefined],
      ];
      const before = await server.snapshot();
      for (const [method, path, body] of bad) {
        const reply = await raw(server, method, path, { auth: a.basic, ...(body !== undefined ? { body: JSON.stringify(body), contentType: 'application/json' } : {}) });
        assert.equal(reply.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${reply.text}`);
        assert.equal(reply.json.error.type, 'invalid_parameters', reply.text);
        assert.ok(reply.json.error.messages.length > 0);
      }
      for (const [body, contentType] of [['{"reconnect_window":', 'application/json'], ['reconnect_window=5', 'application/x-www-form-urlencoded'], ['', 'application/json']] as const) {
        const reply = await raw(server, 'POST', '/video/v1/live-streams', { auth: a.basic, body, contentType });
        assert.equal(reply.status, 400, `${contentType} ${body}: ${reply.text}`);
        assert.equal(reply.json.error.type, 'invalid_parameters');
      }
      const huge = await raw(server, 'POST', '/video/v1/live-streams', { auth: a.basic, body: JSON.stringify({ passthrough: 'x'.repeat(2 * 1024 * 1024) }), contentType: 'application/json' });
      assert.equal(huge.status, 413);
      assert.equal(await server.snapshot(), before, 'no refused request changed anything');
      const err: any = await failure(a.mux.video.liveStreams.create({ reconnect_window: 5000 }));
      assert.ok(err instanceof Mux.BadRequestError);
      assert.match((err.error as any).error.messages.join(' '), /reconnect_window/);
    });
  });
}
