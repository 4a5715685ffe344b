/**
 * The dashboard's own API beside the Mux-compatible one, with the session cookie: each
 * simulcast target's switch and its relay's state with the last error in words
 * (`GET /app/api/streams/:id/targets`), the switch itself (`PUT …/targets/:targetId`), which a
 * live relay follows at once, and a recording downloaded as one MPEG-TS file
 * (`GET /app/api/assets/:id/download`: its segments one after another). No session is a 401; a
 * write from another site a 403; another account's stream or recording a 404.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BroadcastId } from '../../../src/core/kernel/ids.js';
import { databaseKinds } from '../../helpers/databases.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { ffmpegMissing, ffprobeJson, tempDir } from '../../media/support.js';
import { encoder, freePort, inspect, makeFlv, startFfmpegReceiver, waitFor } from '../../media/relay/support.js';

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  json: any;
}

let accounts = 0;

/** A signed-in account: its session cookie (`sd_session=…`). */
async function signedIn(server: TestServer, admin = false): Promise<string> {
  const core = server.running.core;
  const username = `targets${process.pid}x${++accounts}`;
  await core.accounts.create({ username, password: 'a fine password 1', admin });
  const { token } = await core.sessions.login(username, 'a fine password 1', undefined);
  return `sd_session=${token}`;
}

async function call(server: TestServer, method: string, path: string, options: { cookie?: string; body?: unknown; origin?: string | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  // A browser sends its page's origin with every write; `null` leaves it out.
  const origin = options.origin === undefined ? server.url : options.origin;
  if (origin !== null && method !== 'GET') headers.origin = origin;
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
  const body = Buffer.from(await response.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, body, json };
}


type State = { id: string; enabled: boolean; state: string; lastError: string | null };

for (const kind of databaseKinds()) {
  describe(`the dashboard's targets and downloads (${kind})`, { skip: ffmpegMissing }, () => {
    let server: TestServer;
    const dir = tempDir('app-targets');
    let source: string;

    before(async () => {
      server = await startTestServer(kind, { ...LOCAL_PEERS, hlsSegmentDuration: '1' });
      source = join(dir.path, 'loop.flv');
      makeFlv(source, 'av', 2);
    });

    after(async () => {
      await server?.close();
      dir.remove();
    });

    const newStream = async (cookie: string) => {
      const made = await call(server, 'POST', '/video/v1/live-streams', { cookie, body: { playback_policy: ['public'], new_asset_settings: { playback_policy: ['public'] }, reconnect_window: 60 } });
      assert.equal(made.status, 201, made.body.toString());
      return made.json.data as { id: string; stream_key: string; playback_ids: { id: string }[] };
    };
    const addTarget = async (cookie: string, streamId: string, url: string, key: string) => {
      const added = await call(server, 'POST', `/video/v1/live-streams/${streamId}/simulcast-targets`, { cookie, body: { url, stream_key: key } });
      assert.equal(added.status, 201, added.body.toString());
      return added.json.data as { id: string; status: string };
    };
    const states = async (cookie: string, streamId: string): Promise<State[]> => {
      const answer = await call(server, 'GET', `/app/api/streams/${streamId}/targets`, { cookie });
      assert.equal(answer.status, 200, answer.body.toString());
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      return answer.json.data;
    };
    const stateOf = async (cookie: string, streamId: string, targetId: string) => (await states(cookie, streamId)).find((s) => s.id === targetId);

    test('no session is a 401, a write from another site a 403, another account’s stream or an unknown target a 404', async () => {
      const owner = await signedIn(server);
      const stranger = await signedIn(server);
      const stream = await newStream(owner);
      const target = await addTarget(owner, stream.id, 'rtmp://127.0.0.1:1/app', 'some-key');

      const initially = await states(owner, stream.id);
      assert.deepEqual(initially, [{ id: target.id, enabled: true, state: 'idle', lastError: null }]);

      const targetPath = `/app/api/streams/${stream.id}/targets/${target.id}`;
      for (const [method, path, body] of [
        ['GET', `/app/api/streams/${stream.id}/targets`, undefined],
        ['PUT', targetPath, { enabled: false }],
        ['GET', `/app/api/assets/${stream.id}/download`, undefined],
      ] as const) {
        const none = await call(server, method, path, { body });
        assert.equal(none.status, 401, `${method} ${path} without a session`);
        assert.equal(none.json.error.type, 'unauthorized');
        const ended = await call(server, method, path, { body, cookie: 'sd_session=not-a-session-token' });
        assert.equal(ended.status, 401, `${method} ${path} with an unknown session`);
        const foreign = await call(server, method, path, { body, cookie: stranger });
        assert.equal(foreign.status, 404, `${method} ${path} of another account`);
        assert.equal(foreign.json.error.type, 'not_found');
      }

      // A write must come from the server's own pages: another site's, or none, is refused (and changes nothing).
      const crossSite = await call(server, 'PUT', targetPath, { cookie: owner, body: { enabled: false }, origin: 'https://evil.example' });
      assert.equal(crossSite.status, 403);
      assert.equal(crossSite.json.error.type, 'forbidden');
      const noOrigin = await call(server, 'PUT', targetPath, { cookie: owner, body: { enabled: false }, origin: null });
      assert.equal(noOrigin.status, 403);
      assert.equal((await stateOf(owner, stream.id, target.id))?.enabled, true, 'the refused writes changed nothing');

      assert.equal((await call(server, 'PUT', targetPath, { cookie: owner, body: { enabled: 'no' } })).status, 400);
      assert.equal((await call(server, 'PUT', targetPath, { cookie: owner, body: {} })).status, 400);
      assert.equal((await call(server, 'PUT', `/app/api/streams/${stream.id}/targets/00000000-0000-4000-8000-000000000000`, { cookie: owner, body: { enabled: false } })).status, 404);
      assert.equal((await call(server, 'PUT', `/app/api/streams/${stream.id}/targets/not-an-id`, { cookie: owner, body: { enabled: false } })).status, 404);
      assert.equal((await call(server, 'GET', '/app/api/streams/not-an-id/targets', { cookie: owner })).status, 404);
      assert.equal((await call(server, 'GET', '/app/api/assets/00000000-0000-4000-8000-000000000000/download', { cookie: owner })).status, 404);

      const off = await call(server, 'PUT', targetPath, { cookie: owner, body: { enabled: false } });
      assert.equal(off.status, 200, off.body.toString());
      assert.deepEqual(off.json.data, { id: target.id, enabled: false, state: 'idle', lastError: null });
      assert.equal((await stateOf(owner, stream.id, target.id))?.enabled, false);

      // An administrator's session sees every account's targets.
      const admin = await signedIn(server, true);
      assert.equal((await stateOf(admin, stream.id, target.id))?.enabled, false);
    });

    test('switching a target off while live stops its relay at once; on again restarts it', { timeout: 120_000 }, async () => {
      const cookie = await signedIn(server);
      const stream = await newStream(cookie);
      const first = await startFfmpegReceiver(dir.path, 'switch', { app: 'app', name: 'switch-key' });
      const target = await addTarget(cookie, stream.id, `rtmp://127.0.0.1:${first.port}/app`, 'switch-key');
      const live = encoder(server.running.rtmpPort, stream.stream_key, source);
      let second: Awaited<ReturnType<typeof startFfmpegReceiver>> | undefined;
      try {
        await waitFor('the target to broadcast', async () => (await stateOf(cookie, stream.id, target.id))?.state === 'live', 30_000);
        await new Promise((resolve) => setTimeout(resolve, 1500));

        const off = await call(server, 'PUT', `/app/api/streams/${stream.id}/targets/${target.id}`, { cookie, body: { enabled: false } });
        assert.equal(off.status, 200, off.body.toString());
        assert.equal(off.json.data.enabled, false);
        assert.equal(await first.finish(10_000), 0, `the receiver saw its publisher leave: ${first.stderr()}`);
        const got = inspect(first.file);
        assert.equal(got.videoCodec, 'h264');
        assert.ok(got.videoSeconds > 0.5, `the target got ${got.videoSeconds} s`);
        await waitFor('the target to be idle', async () => (await stateOf(cookie, stream.id, target.id))?.state === 'idle', 10_000);
        const mux = await call(server, 'GET', `/video/v1/live-streams/${stream.id}/simulcast-targets/${target.id}`, { cookie });
        assert.equal(mux.json.data.status, 'idle', 'the Mux-compatible API shows the same');
        assert.equal((await call(server, 'GET', `/video/v1/live-streams/${stream.id}`, { cookie })).json.data.status, 'active', 'the stream went on');

        // On again, to a receiver on the same address: the relay starts at once.
        second = await startFfmpegReceiver(dir.path, 'switch-again', { port: first.port, app: 'app', name: 'switch-key' });
        const on = await call(server, 'PUT', `/app/api/streams/${stream.id}/targets/${target.id}`, { cookie, body: { enabled: true } });
        assert.equal(on.status, 200);
        assert.equal(on.json.data.enabled, true);
        await waitFor('the target to broadcast again', async () => (await stateOf(cookie, stream.id, target.id))?.state === 'live', 30_000);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        assert.equal((await call(server, 'PUT', `/video/v1/live-streams/${stream.id}/complete`, { cookie })).status, 200);
        assert.equal(await second.finish(15_000), 0, `the second receiver saw its publisher leave: ${second.stderr()}`);
        assert.ok(inspect(second.file).videoSeconds > 0.5, 'the second receiver got video');
      } finally {
        live.kill();
        await first.kill();
        await second?.kill();
      }
    });

    test('a target that cannot be reached shows Errored with its last error in words', { timeout: 60_000 }, async () => {
      const cookie = await signedIn(server);
      const stream = await newStream(cookie);
      const nobody = await freePort();
      const target = await addTarget(cookie, stream.id, `rtmp://127.0.0.1:${nobody}/app`, 'lost-key');
      const live = encoder(server.running.rtmpPort, stream.stream_key, source);
      try {
        const errored = await waitFor('the target to report an error', async () => {
          const state = await stateOf(cookie, stream.id, target.id);
          return state?.state === 'error' && state.lastError ? state : undefined;
        }, 30_000);
        assert.match(errored.lastError!, /\S{3}/, 'the last error is words');
        assert.ok(!errored.lastError!.includes('lost-key'), `the error does not show the key: ${errored.lastError}`);
        assert.equal(errored.enabled, true);
        await call(server, 'PUT', `/video/v1/live-streams/${stream.id}/complete`, { cookie });
      } finally {
        live.kill();
      }
    });

    test('a recording downloads as one MPEG-TS file: its segments one after another', { timeout: 90_000 }, async () => {
      const cookie = await signedIn(server);
      const stream = await newStream(cookie);
      const live = encoder(server.running.rtmpPort, stream.stream_key, source);
      let assetId: string;
      try {
        assetId = await waitFor('a recording', async () => (await call(server, 'GET', `/video/v1/live-streams/${stream.id}`, { cookie })).json.data.active_asset_id as string | undefined, 30_000);
        await waitFor('three seconds recorded', async () => ((await call(server, 'GET', `/video/v1/assets/${assetId}`, { cookie })).json.data.duration ?? 0) >= 3, 30_000);
      } finally {
        live.kill();
      }
      assert.equal((await call(server, 'PUT', `/video/v1/live-streams/${stream.id}/complete`, { cookie })).status, 200);
      // Final once its last segment is stored (after the broadcast ended).
      await waitFor('the recording to be final', async () => ((await server.running.core.recordings.describe(assetId as BroadcastId))?.finishedAt ?? null) !== null, 15_000);
      const asset = (await call(server, 'GET', `/video/v1/assets/${assetId}`, { cookie })).json.data;

      // The segments as a player gets them, through the recording's public playback id.
      const playbackId = asset.playback_ids[0].id as string;
      const playlist = await (await fetch(`${server.url}/${playbackId}.m3u8`)).text();
      const uris = playlist.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
      assert.ok(uris.length >= 2, `several segments: ${playlist}`);
      const segments: Buffer[] = [];
      for (const uri of uris) {
        const response = await fetch(`${server.url}/${uri}`);
        assert.equal(response.status, 200, uri);
        segments.push(Buffer.from(await response.arrayBuffer()));
      }
      const expected = Buffer.concat(segments);

      const download = await call(server, 'GET', `/app/api/assets/${assetId}/download`, { cookie });
      assert.equal(download.status, 200, download.body.toString().slice(0, 200));
      assert.equal(download.headers.get('content-type'), 'video/mp2t');
      assert.equal(download.headers.get('content-disposition'), `attachment; filename="${assetId}.ts"`);
      assert.equal(Number(download.headers.get('content-length')), expected.length);
      assert.equal(download.body.length, expected.length, 'the download is as long as its segments together');
      assert.ok(download.body.equals(expected), 'the download is the segments one after another');

      const file = join(dir.path, `${assetId}.ts`);
      writeFileSync(file, download.body);
      const probed = ffprobeJson(['-show_format', '-show_streams', file]);
      assert.equal(probed.format.format_name, 'mpegts');
      assert.ok(probed.streams.some((s: any) => s.codec_type === 'video' && s.codec_name === 'h264'), 'it has the H.264 video');
      assert.ok(probed.streams.some((s: any) => s.codec_type === 'audio'), 'and the audio');
      const seconds = Number(probed.format.duration);
      assert.ok(Math.abs(seconds - asset.duration) < 1.5, `the file lasts ${seconds} s, the recording ${asset.duration} s`);

      // Another account's session finds no such recording; a deleted recording is gone.
      assert.equal((await call(server, 'GET', `/app/api/assets/${assetId}/download`, { cookie: await signedIn(server) })).status, 404);
      assert.equal((await call(server, 'DELETE', `/video/v1/assets/${assetId}`, { cookie })).status, 204);
      assert.equal((await call(server, 'GET', `/app/api/assets/${assetId}/download`, { cookie })).status, 404);
    });
  });
}
