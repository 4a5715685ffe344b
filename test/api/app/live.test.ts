/**
 * The dashboard's live numbers (`GET /app/api/streams/:id/live`, `GET /app/api/live`), with the
 * session cookie: an ffmpeg encoder publishes 320x240 H.264 at 30 fps with AAC, and the media
 * plane reports the codecs, picture and frame rate, an input bitrate above zero (with its
 * history), the viewers, the uptime; when the encoder drops inside a reconnect window, the
 * seconds left before the broadcast ends. Without a session the answer is 401, for another
 * account's stream 404, for a stream that is not live `{live: false}`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tempDir } from '../../media/support.js';
import { encoder, ffmpegMissing, makeFlv, waitFor } from '../../media/relay/support.js';
import { muxAccount, type MuxAccount } from '../mux/support.js';

/** The stream's reconnect window in seconds: long enough to watch it count down. */
const WINDOW = 60;


async function get(server: TestServer, path: string, cookie?: string): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(`${server.url}${path}`, { headers: cookie ? { cookie } : {} });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, json };
}

/** The `cookie` header of a signed-in session of this account. */
async function signIn(server: TestServer, account: MuxAccount): Promise<string> {
  const session = await server.running.core.sessions.login(account.username, 'a fine password 1', undefined);
  return `sd_session=${session.token}`;
}

for (const kind of databaseKinds()) {
  describe(`the dashboard's live numbers (${kind})`, { skip: ffmpegMissing }, () => {
    let server: TestServer;
    const dir = tempDir('app-live');
    let source: string;

    before(async () => {
      server = await startTestServer(kind, { hlsSegmentDuration: '1' });
      source = `${dir.path}/loop.flv`;
      makeFlv(source, 'av', 2);
    });

    after(async () => {
      await server?.close();
      dir.remove();
    });

    test('a session is needed; another account’s stream is not found; an idle stream is not live', async () => {
      const owner = await muxAccount(server);
      const other = await muxAccount(server);
      const stream = await owner.mux.video.liveStreams.create({ playback_policy: ['public'] });
      const path = `/app/api/streams/${stream.id}/live`;

      const anonymous = await get(server, path);
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.json.error.type, 'unauthorized');
      assert.equal((await get(server, path, 'sd_session=not-a-session-token-at-all-xxxxxxxxxxxxxxxxxx')).status, 401, 'an unknown session is refused');
      assert.equal((await get(server, '/app/api/live')).status, 401);
      assert.equal((await fetch(`${server.url}${path}`, { headers: { authorization: owner.basic } })).status, 401, 'an access token is not a session');

      const stranger = await get(server, path, await signIn(server, other));
      assert.equal(stranger.status, 404);
      assert.equal(stranger.json.error.type, 'not_found');
      assert.equal((await get(server, '/app/api/streams/no-such-stream/live', await signIn(server, owner))).status, 404);

      const cookie = await signIn(server, owner);
      const idle = await get(server, path, cookie);
      assert.equal(idle.status, 200);
      assert.deepEqual(idle.json, { live: false });
      assert.equal(idle.headers.get('cache-control'), 'no-store');
      assert.deepEqual((await get(server, '/app/api/live', cookie)).json, { data: [] });
    });

    test('a live encoder’s codecs, picture, frame rate, bitrate, viewers and uptime; its reconnect window counting down after it drops', { timeout: 90_000 }, async () => {
      const owner = await muxAccount(server);
      const other = await muxAccount(server);
      const stream = await owner.mux.video.liveStreams.create({ playback_policy: ['public'], reconnect_window: WINDOW });
      const playbackId = stream.playback_ids![0]!.id;
      const cookie = await signIn(server, owner);
      const path = `/app/api/streams/${stream.id}/live`;
      const started = Date.now();

      const publisher = encoder(server.running.rtmpPort, stream.stream_key!, source);
      try {
        const stats = await waitFor(
          'the stream to be live with its facts and a bitrate sample',
          async () => {
            const answer = await get(server, path, cookie);
            assert.equal(answer.status, 200);
            const s = answer.json;
            return s.live && s.video?.frameRate && s.audio?.sampleRate && s.bitrateKbps > 0 ? s : undefined;
          },
          30_000,
        ).catch((err: Error) => {
          throw new Error(`${err.message}; ffmpeg said: ${publisher.stderr() || 'nothing'}`);
        });
        assert.equal(stats.video.codec, 'h264');
        assert.equal(stats.video.width, 320);
        assert.equal(stats.video.height, 240);
        assert.ok(Math.abs(stats.video.frameRate - 30) < 1, `about 30 fps (${stats.video.frameRate})`);
        assert.deepEqual(stats.audio, { codec: 'aac', sampleRate: 44100, channels: 1 });
        assert.ok(stats.bitrateKbps > 0);
        assert.ok(stats.bitrate.length >= 1 && stats.bitrate.length <= 150, 'at most five minutes of two-second samples');
        for (const sample of stats.bitrate) assert.ok(Number.isInteger(sample.at) && sample.at >= started - 1000 && sample.kbps >= 0, JSON.stringify(sample));
        // The test pattern with a tone, copied as is: tens to a few hundred kbit/s, not bytes nor bits per second.
        assert.ok(stats.bitrateKbps > 5 && stats.bitrateKbps < 5000, `a plausible kbit/s (${stats.bitrateKbps})`);
        assert.equal(stats.publisherConnected, true);
        assert.equal(stats.reconnectSecondsLeft, null);
        assert.equal(stats.reconnectWindow, WINDOW);
        assert.ok(Date.parse(stats.startedAt) >= started - 1000 && Date.parse(stats.startedAt) <= Date.now());
        assert.ok(stats.uptimeSeconds >= 0 && stats.uptimeSeconds <= (Date.now() - started) / 1000 + 1);
        assert.equal(stats.viewers, 0, 'no one watches yet');

        // A player fetching the live playlist is a viewer.
        const playlist = await waitFor('the live playlist', async () => ((await fetch(`${server.url}/${playbackId}.m3u8`)).status === 200 ? true : undefined), 20_000);
        assert.ok(playlist);
        assert.equal((await get(server, path, cookie)).json.viewers, 1);

        // Samples keep coming every two seconds, and uptime goes on.
        const more = await waitFor('more samples', async () => {
          const s = (await get(server, path, cookie)).json;
          return s.bitrate.length >= stats.bitrate.length + 2 ? s : undefined;
        }, 15_000);
        assert.ok(more.uptimeSeconds >= stats.uptimeSeconds + 3);
        const gaps = more.bitrate.slice(1).map((s: { at: number }, i: number) => s.at - more.bitrate[i].at);
        for (const gap of gaps) assert.ok(gap >= 1500 && gap <= 3000, `about two seconds between samples (${gaps.join(', ')})`);

        // The list: this stream with its viewers and uptime; nothing of another account's.
        const list = await get(server, '/app/api/live', cookie);
        assert.equal(list.status, 200);
        assert.equal(list.json.data.length, 1);
        assert.equal(list.json.data[0].id, stream.id);
        assert.equal(list.json.data[0].viewers, 1);
        assert.ok(list.json.data[0].uptimeSeconds >= 3);
        assert.deepEqual((await get(server, '/app/api/live', await signIn(server, other))).json, { data: [] });
        assert.equal((await get(server, path, await signIn(server, other))).status, 404, 'another account cannot read a live stream’s numbers');
      } finally {
        publisher.kill();
      }
      await publisher.exited;

      const dropped = await waitFor('the reconnect window', async () => {
        const s = (await get(server, path, cookie)).json;
        return s.live && s.publisherConnected === false ? s : undefined;
      }, 15_000);
      assert.ok(dropped.reconnectSecondsLeft > WINDOW - 10 && dropped.reconnectSecondsLeft <= WINDOW, `seconds left (${dropped.reconnectSecondsLeft})`);
      // Two sampling periods later, the newest sample began after the drop.
      await new Promise((resolve) => setTimeout(resolve, 4_100));
      const later = (await get(server, path, cookie)).json;
      assert.equal(later.publisherConnected, false);
      assert.ok(later.reconnectSecondsLeft <= dropped.reconnectSecondsLeft - 3, `counting down (${dropped.reconnectSecondsLeft} then ${later.reconnectSecondsLeft})`);
      assert.equal(later.bitrateKbps, 0, 'nothing comes in while the encoder is away');
      const listed = (await get(server, '/app/api/live', cookie)).json.data;
      assert.equal(listed.length, 1, 'still live in the list during the reconnect window');
      assert.equal(listed[0].publisherConnected, false);
      assert.ok(listed[0].reconnectSecondsLeft > 0 && listed[0].reconnectSecondsLeft <= later.reconnectSecondsLeft);

      // Ended: not live any more.
      await owner.mux.video.liveStreams.complete(stream.id);
      await waitFor('the broadcast to end', async () => ((await get(server, path, cookie)).json.live === false ? true : undefined), 15_000);
    });
  });
}
