/**
 * RTMP playback with the real player: a viewer plays rtmp://…/live/<streamId> (the id, never
 * the key) while an encoder publishes, and decodes video; one that stays to the end leaves
 * cleanly when the broadcast ends. Playing by the key, or a stream that is not live, is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  assertPublished,
  ffmpegMissing,
  playRtmp,
  publish,
  rtmpUrl,
  StreamEvents,
  userWithStream,
  waitForStreaming,
} from './support.js';

const SECONDS = 8;
const WINDOW = 1;

describe('RTMP viewers', { skip: ffmpegMissing }, () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer('sqlite', { reconnectWindow: String(WINDOW), hlsSegmentDuration: '2' });
  });

  after(async () => {
    await server?.close();
  });

  test('a viewer plays by stream id while the encoder publishes; by key it is refused', async () => {
    const f = await userWithStream(server, 'viewer');
    const events = new StreamEvents(server, f.stream.id);
    try {
      const notLive = await playRtmp(rtmpUrl(server, f.stream.id), 2, 10_000);
      assert.notEqual(notLive.code, 0, 'a stream that is not live does not play');
      assert.equal(notLive.signal, null, `refused, not left hanging:\n${notLive.stderr}`);

      const publisher = publish(rtmpUrl(server, f.stream.streamKey), SECONDS);
      await waitForStreaming(server, f, true, 5_000);
      await events.waitFor('segment.written', 1);
      const joinedAfter = (Date.now() - publisher.startedAt) / 1000;

      const [short, whole, byKey] = await Promise.all([
        playRtmp(rtmpUrl(server, f.stream.id), 3),
        playRtmp(rtmpUrl(server, f.stream.id), 60),
        playRtmp(rtmpUrl(server, f.stream.streamKey), 3, 10_000),
      ]);
      await assertPublished('publisher', publisher);

      assert.equal(short.code, 0, `the viewer exits 0:\n${short.stderr}`);
      assert.equal(short.stderr, '', 'no decoding error');
      assert.ok(short.frames >= 80 && short.frames <= 91, `${short.frames} video frames decoded in 3 s at 30 fps`);

      // Stays until the broadcast ends: it gets what was left, from the keyframe it joined at.
      assert.equal(whole.code, 0, `the viewer that stays leaves cleanly when the broadcast ends:\n${whole.stderr}`);
      assert.equal(whole.stderr, '', 'no decoding error');
      const left = SECONDS - joinedAfter;
      assert.ok(whole.frames >= (left - 0.5) * 30 && whole.frames <= SECONDS * 30, `${whole.frames} frames decoded, about ${left.toFixed(1)} s were left`);

      assert.notEqual(byKey.code, 0, 'the stream key does not play');
      assert.equal(byKey.signal, null, `refused, not left hanging:\n${byKey.stderr}`);
      assert.equal(byKey.frames, 0);
      assert.match(byKey.stderr, /error/i, 'ffmpeg reports the refusal');
    } finally {
      events.close();
    }
  });
});
