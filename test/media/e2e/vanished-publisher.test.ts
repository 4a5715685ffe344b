/**
 * An encoder that vanishes mid-segment (kill -9: no unpublish, no goodbye): the recording up to
 * where it stopped is kept and plays clean, the broadcast ends once the window has passed, and
 * the server carries on, taking the next publish.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  assertLatestRecording,
  assertPublished,
  broadcastsOf,
  checkRecording,
  ffmpegMissing,
  getText,
  publish,
  rtmpUrl,
  sleep,
  StreamEvents,
  userWithStream,
  waitForStreaming,
} from './support.js';

const WINDOW = 2;

describe('a publisher that vanishes', { skip: ffmpegMissing }, () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer('sqlite', { reconnectWindow: String(WINDOW), hlsSegmentDuration: '2' });
  });

  after(async () => {
    await server?.close();
  });

  test('killed mid-segment: the recording so far is kept and playable; the next publish is taken', async () => {
    const f = await userWithStream(server, 'vanish');
    const streamId = f.stream.id;
    const events = new StreamEvents(server, streamId);
    try {
      const doomed = publish(rtmpUrl(server, f.stream.streamKey), 20);
      await waitForStreaming(server, f, true, 5_000);
      const written = await events.waitFor('segment.written', 2);
      await sleep(1000); // half way into the third segment
      doomed.kill('SIGKILL');
      const killed = await doomed.done;
      assert.equal(killed.signal, 'SIGKILL');
      const ran = (Date.now() - doomed.startedAt) / 1000;

      await events.waitFor('publish.ended', 1, 5_000);
      await waitForStreaming(server, f, false, (WINDOW + 5) * 1000);
      const [broadcast] = await broadcastsOf(server, streamId);
      assert.ok(broadcast && broadcast.endedAt !== null, 'the broadcast ended');

      // What was stored before the kill is all there, and the segment in progress was finished.
      const vod = await getText(server, `/hls/${streamId}/${broadcast.id}/vod.m3u8`);
      const stored = written.slice(0, 2).reduce((sum, s) => sum + s.duration, 0);
      const { playlist, total } = await checkRecording(server, streamId, broadcast.id, {
        seconds: Math.min(ran, stored + 1.5),
        tolerance: 1,
      });
      assert.ok(playlist.entries.length >= 3, `the two full segments and the one cut short:\n${vod.text}`);
      assert.ok(total > stored + 0.5, `${total.toFixed(3)} s kept, ${stored.toFixed(3)} s were stored before the kill`);
      assert.ok(total <= ran, `${total.toFixed(3)} s kept, the encoder ran for ${ran.toFixed(3)} s`);
      await events.waitFor('broadcast.ended');
      assert.deepEqual(events.sequence(), [
        'broadcast.started',
        'publish.started',
        `segment.written×${playlist.entries.length}`,
        'publish.ended',
        'broadcast.ended',
      ]);

      // The server is up and takes the next encoder, as a new broadcast.
      const SECONDS = 4;
      await assertPublished('the next publish', publish(rtmpUrl(server, f.stream.streamKey), SECONDS));
      await waitForStreaming(server, f, false, (WINDOW + 5) * 1000);
      const broadcasts = await broadcastsOf(server, streamId);
      assert.equal(broadcasts.length, 2);
      const next = broadcasts.find((b) => b.id !== broadcast.id)!;
      const nextRecording = await checkRecording(server, streamId, next.id, { seconds: SECONDS });
      await assertLatestRecording(server, streamId, next.id, nextRecording.playlist);
      assert.deepEqual((await checkRecording(server, streamId, broadcast.id, { seconds: total, tolerance: 0.2 })).playlist, playlist, 'the cut recording is unchanged');
    } finally {
      events.close();
    }
  });

  test('killed and restarted within the window: the broadcast continues', async () => {
    const f = await userWithStream(server, 'restart');
    const streamId = f.stream.id;
    const events = new StreamEvents(server, streamId);
    try {
      const doomed = publish(rtmpUrl(server, f.stream.streamKey), 20);
      await events.waitFor('segment.written', 1);
      await sleep(700);
      doomed.kill('SIGKILL');
      await doomed.done;
      const SECONDS = 4;
      await assertPublished('the restarted encoder', publish(rtmpUrl(server, f.stream.streamKey), SECONDS));
      await waitForStreaming(server, f, false, (WINDOW + 5) * 1000);

      const broadcasts = await broadcastsOf(server, streamId);
      assert.equal(broadcasts.length, 1, 'the restart continued the broadcast');
      assert.deepEqual(events.of('publish.started').map((e) => e.resumed), [false, true]);
      const vod = await getText(server, `/hls/${streamId}/${broadcasts[0]!.id}/vod.m3u8`);
      assert.equal(vod.status, 200, vod.text);
      const { playlist } = await checkRecording(server, streamId, broadcasts[0]!.id, {
        seconds: playlistSeconds(vod.text),
        discontinuities: 1,
        tolerance: 0.2,
      });
      const at = playlist.entries.findIndex((e) => e.discontinuity);
      const after = playlist.entries.slice(at).reduce((sum, e) => sum + e.duration, 0);
      assert.ok(Math.abs(after - SECONDS) <= 0.5, `${after.toFixed(3)} s after the restart, ${SECONDS} s sent`);
    } finally {
      events.close();
    }
  });
});

function playlistSeconds(text: string): number {
  return [...text.matchAll(/^#EXTINF:([\d.]+),/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}
