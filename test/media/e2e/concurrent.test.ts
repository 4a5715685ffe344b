/**
 * Several encoders at once, each on its own stream: every one goes live and gets its own
 * complete recording, with its own broadcast and its own events, nothing mixed between them.
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
  publish,
  rtmpUrl,
  StreamEvents,
  userWithStream,
  waitForStreaming,
} from './support.js';

const SECONDS = 6;
const WINDOW = 1;
const PUBLISHERS = 3;

describe('several publishers at once', { skip: ffmpegMissing }, () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer('sqlite', { reconnectWindow: String(WINDOW), hlsSegmentDuration: '2' });
  });

  after(async () => {
    await server?.close();
  });

  test(`${PUBLISHERS} encoders publishing in parallel each get their own complete recording`, async () => {
    const fixtures = await Promise.all(Array.from({ length: PUBLISHERS }, (_, i) => userWithStream(server, `par${i}`)));
    const events = fixtures.map((f) => new StreamEvents(server, f.stream.id));
    try {
      const publishers = fixtures.map((f) => publish(rtmpUrl(server, f.stream.streamKey), SECONDS));
      await Promise.all(fixtures.map((f) => waitForStreaming(server, f, true, 8_000)));
      await Promise.all(publishers.map((p, i) => assertPublished(`publisher ${i}`, p)));
      await Promise.all(fixtures.map((f) => waitForStreaming(server, f, false, (WINDOW + 5) * 1000)));

      const broadcastIds = new Set<string>();
      for (const [i, f] of fixtures.entries()) {
        const broadcasts = await broadcastsOf(server, f.stream.id);
        assert.equal(broadcasts.length, 1, `stream ${i}: one broadcast`);
        const broadcastId = broadcasts[0]!.id;
        broadcastIds.add(broadcastId);
        const { playlist } = await checkRecording(server, f.stream.id, broadcastId, { seconds: SECONDS });
        await assertLatestRecording(server, f.stream.id, broadcastId, playlist);

        const mine = events[i]!;
        await mine.waitFor('broadcast.ended');
        assert.deepEqual(mine.sequence(), [
          'broadcast.started',
          'publish.started',
          `segment.written×${playlist.entries.length}`,
          'publish.ended',
          'broadcast.ended',
        ], `stream ${i}: events`);
        for (const event of mine.events) assert.equal(event.broadcastId, broadcastId, `stream ${i}: ${event.type} carries its own broadcast id`);
      }
      assert.equal(broadcastIds.size, PUBLISHERS, 'a broadcast of its own for each stream');
    } finally {
      for (const e of events) e.close();
    }
  });
});
