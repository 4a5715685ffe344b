/**
 * The main path of the live media plane, end to end with the real clients: an encoder (ffmpeg)
 * publishes to rtmp://…/live/<key>; the stream goes live in the rig API and its live HLS
 * playlist plays; the encoder stops; once the reconnect window has passed the stream is off
 * the air and the broadcast stays as a clean VOD recording; the bus told the story in order.
 * Runs on every database the suite has (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  assertLatestRecording,
  assertPublished,
  broadcastsOf,
  checkRecording,
  ffmpegMissing,
  getText,
  isStreaming,
  parsePlaylist,
  publish,
  rtmpUrl,
  run,
  StreamEvents,
  userWithStream,
  waitFor,
  waitForStreaming,
} from './support.js';

const SECONDS = 6;
const WINDOW = 2;

for (const kind of databaseKinds()) {
  describe(`publish over RTMP, play live over HLS, keep the recording (${kind})`, { skip: ffmpegMissing }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(kind, { reconnectWindow: String(WINDOW), hlsSegmentDuration: '2' });
    });

    after(async () => {
      await server?.close();
    });

    test('an encoder goes live, stops, and its broadcast stays playable as a VOD recording', async () => {
      const f = await userWithStream(server);
      const streamId = f.stream.id;
      const events = new StreamEvents(server, streamId);
      try {
        assert.equal(await isStreaming(server, f), false, 'not streaming before anyone publishes');
        assert.equal((await getText(server, `/hls/${streamId}/index.m3u8`)).status, 404, 'no live playlist before the publish');
        assert.equal((await getText(server, `/hls/${streamId}/vod.m3u8`)).status, 404, 'no recording before the publish');

        const publisher = publish(rtmpUrl(server, f.stream.streamKey), SECONDS);

        // Live within seconds, in the API and as a playable HLS playlist.
        await waitForStreaming(server, f, true, 5_000);
        const live = await waitFor('the live playlist to list a segment', async () => {
          const reply = await getText(server, `/hls/${streamId}/index.m3u8`);
          if (reply.status !== 200) return undefined;
          const playlist = parsePlaylist(reply.text);
          return playlist.entries.length > 0 ? { reply, playlist } : undefined;
        }, 8_000);
        assert.ok(publisher.running, 'the live playlist has a segment while the encoder still publishes');
        assert.match(live.reply.type, /^application\/vnd\.apple\.mpegurl/);
        assert.ok(!live.playlist.tags.includes('#EXT-X-ENDLIST'), `a live playlist has no #EXT-X-ENDLIST:\n${live.reply.text}`);
        assert.ok(!live.playlist.tags.includes('#EXT-X-PLAYLIST-TYPE:VOD'), `a live playlist is not VOD:\n${live.reply.text}`);
        const probe = await run('ffprobe', ['-v', 'error', '-of', 'json', '-show_entries', 'stream=codec_type,codec_name', `${server.url}/hls/${streamId}/index.m3u8`], 15_000);
        assert.equal(probe.code, 0, `ffprobe on the live playlist: ${probe.stderr}`);
        assert.equal(probe.stderr, '', 'ffprobe on the live playlist reported errors');
        const liveCodecs = (JSON.parse(probe.stdout) as { streams: { codec_type: string; codec_name: string }[] }).streams
          .map((s) => `${s.codec_type}:${s.codec_name}`)
          .sort();
        assert.deepEqual(liveCodecs, ['audio:aac', 'video:h264'], 'the live playlist plays H.264 and AAC');
        // While live, the broadcast's own playlist is still growing: no end yet.
        const [broadcast] = await events.waitFor('broadcast.started');
        const growing = await getText(server, `/hls/${streamId}/${broadcast!.broadcastId}/vod.m3u8`);
        assert.equal(growing.status, 200, growing.text);
        assert.ok(!growing.text.includes('#EXT-X-ENDLIST'), `the recording of a live broadcast is not ended yet:\n${growing.text}`);

        await assertPublished('publisher', publisher);
        const stoppedAt = Date.now();
        assert.equal(await isStreaming(server, f), true, 'still live within the reconnect window');

        await waitForStreaming(server, f, false, (WINDOW + 5) * 1000);
        const offAfter = (Date.now() - stoppedAt) / 1000;
        assert.ok(offAfter >= WINDOW - 0.5, `off the air ${offAfter.toFixed(2)} s after the stop, before the ${WINDOW} s window passed`);
        assert.equal((await getText(server, `/hls/${streamId}/index.m3u8`)).status, 404, 'no live playlist once the broadcast ended');

        // One broadcast, ended, with the id the events carried.
        const broadcasts = await broadcastsOf(server, streamId);
        assert.equal(broadcasts.length, 1, 'one broadcast');
        const broadcastId = broadcasts[0]!.id;
        assert.equal(broadcast!.broadcastId, broadcastId);
        assert.notEqual(broadcasts[0]!.endedAt, null, 'the broadcast ended');

        const { playlist } = await checkRecording(server, streamId, broadcastId, { seconds: SECONDS });
        await assertLatestRecording(server, streamId, broadcastId, playlist);

        // The bus: the broadcast and the publish start, each segment as it is stored, then the ends.
        await events.waitFor('broadcast.ended');
        const segments = events.of('segment.written');
        assert.deepEqual(events.sequence(), [
          'broadcast.started',
          'publish.started',
          `segment.written×${playlist.entries.length}`,
          'publish.ended',
          'broadcast.ended',
        ]);
        for (const event of events.events) assert.equal(event.broadcastId, broadcastId, `${event.type} carries the broadcast id`);
        assert.equal(events.of('publish.started')[0]!.resumed, false);
        assert.deepEqual(
          segments.map((s) => s.sequence),
          playlist.entries.map((_, i) => i),
          'segments numbered from 0 in order',
        );
        assert.deepEqual(
          segments.map((s) => s.duration.toFixed(3)),
          playlist.entries.map((e) => e.duration.toFixed(3)),
          'segment.written durations are the playlist durations',
        );
      } finally {
        events.close();
      }
    });
  });
}
