/**
 * The reconnect window, with the real encoder: an encoder that comes back within the window
 * continues the same broadcast (one recording, #EXT-X-DISCONTINUITY where it reconnected, read
 * end to end without an error); one that comes back after it starts a new broadcast; one that
 * comes back while the server is ending the broadcast continues it, its live playlist not ended;
 * once the broadcast has ended its live playlist is gone at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import type { BroadcastId } from '../../../src/core/kernel/ids.js';
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
  sleep,
  StreamEvents,
  userWithStream,
  waitFor,
  waitForStreaming,
} from './support.js';

const SECONDS = 4;
const WINDOW = 3;

describe('the reconnect window', { skip: ffmpegMissing }, () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer('sqlite', { reconnectWindow: String(WINDOW), hlsSegmentDuration: '2' });
  });

  after(async () => {
    await server?.close();
  });

  test('back within the window: the same broadcast continues, with a discontinuity; back after it: a new broadcast', async () => {
    const f = await userWithStream(server, 'reconnect');
    const streamId = f.stream.id;
    const events = new StreamEvents(server, streamId);
    try {
      await assertPublished('the first publish', publish(rtmpUrl(server, f.stream.streamKey), SECONDS));
      await events.waitFor('publish.ended');
      assert.equal(await isStreaming(server, f), true, 'live during the window');
      await assertPublished('the publish within the window', publish(rtmpUrl(server, f.stream.streamKey), SECONDS));
      await waitForStreaming(server, f, false, (WINDOW + 5) * 1000);

      const broadcasts = await broadcastsOf(server, streamId);
      assert.equal(broadcasts.length, 1, 'a reconnect within the window makes no new broadcast');
      const first = broadcasts[0]!.id;
      const { playlist } = await checkRecording(server, streamId, first, { seconds: 2 * SECONDS, discontinuities: 1 });
      const at = playlist.entries.findIndex((e) => e.discontinuity);
      assert.ok(at > 0, 'the discontinuity is where the encoder came back, not at the start');
      const before = playlist.entries.slice(0, at).reduce((sum, e) => sum + e.duration, 0);
      assert.ok(Math.abs(before - SECONDS) <= 0.3, `${before.toFixed(3)} s before the discontinuity, ${SECONDS} s sent`);

      await events.waitFor('broadcast.ended');
      const segmentsOfFirst = playlist.entries.slice(0, at).length;
      assert.deepEqual(events.sequence(), [
        'broadcast.started',
        'publish.started',
        `segment.written×${segmentsOfFirst}`,
        'publish.ended',
        'publish.started',
        `segment.written×${playlist.entries.length - segmentsOfFirst}`,
        'publish.ended',
        'broadcast.ended',
      ]);
      assert.deepEqual(events.of('publish.started').map((e) => e.resumed), [false, true], 'the second publish resumed the broadcast');
      for (const event of events.events) assert.equal(event.broadcastId, first, `${event.type} carries the one broadcast id`);
      assert.deepEqual(
        events.of('segment.written').map((e) => e.sequence),
        playlist.entries.map((_, i) => i),
        'segment numbers carry on across the reconnect',
      );

      // After the window: a new broadcast, its own recording, and the latest recording is the new one.
      await assertPublished('the publish after the window', publish(rtmpUrl(server, f.stream.streamKey), SECONDS));
      await waitForStreaming(server, f, false, (WINDOW + 5) * 1000);
      const after = await broadcastsOf(server, streamId);
      assert.equal(after.length, 2, 'a publish after the window makes a second broadcast');
      const second = after.find((b) => b.id !== first)!;
      assert.ok(second.endedAt !== null);
      const secondRecording = await checkRecording(server, streamId, second.id, { seconds: SECONDS });
      await assertLatestRecording(server, streamId, second.id, secondRecording.playlist);
      const again = await checkRecording(server, streamId, first, { seconds: 2 * SECONDS, discontinuities: 1 });
      assert.deepEqual(again.playlist, playlist, 'the first recording is unchanged');
      assert.deepEqual(events.of('broadcast.started').map((e) => e.broadcastId), [first, second.id]);
      assert.equal(events.of('publish.started')[2]!.resumed, false);
    } finally {
      events.close();
    }
  });

  test('the live playlist is gone as soon as the broadcast has ended, before the recording is closed', async () => {
    const f = await userWithStream(server, 'ended');
    const streamId = f.stream.id;
    // Asks for the live playlist at the moment the database says the broadcast ended, while the
    // node is still closing its recording: a player must not be told it is live then.
    const broadcasts = server.running.core.broadcasts;
    const endIfIdle = broadcasts.endIfIdle.bind(broadcasts);
    const seen: number[] = [];
    broadcasts.endIfIdle = async (id: BroadcastId) => {
      const ended = await endIfIdle(id);
      if (ended) seen.push((await getText(server, `/hls/${streamId}/index.m3u8`)).status);
      return ended;
    };
    try {
      await assertPublished('the publish', publish(rtmpUrl(server, f.stream.streamKey), SECONDS));
      await waitForStreaming(server, f, false, (WINDOW + 5) * 1000);
      await waitFor('the broadcast to be ended', () => seen.length === 1, 5_000);
      assert.deepEqual(seen, [404], 'the live playlist of an ended broadcast');
    } finally {
      broadcasts.endIfIdle = endIfIdle;
    }
  });

  test('back just as the window closes (a slow database): the broadcast continues and its live playlist is not ended', async () => {
    const f = await userWithStream(server, 'lastsecond');
    const streamId = f.stream.id;
    const events = new StreamEvents(server, streamId);
    // The database answers slowly when the server asks to end the broadcast: the encoder comes
    // back between the window passing and the broadcast being ended.
    const broadcasts = server.running.core.broadcasts;
    const endIfIdle = broadcasts.endIfIdle.bind(broadcasts);
    let asked: (() => void) | undefined;
    const askedToEnd = new Promise<void>((resolve) => (asked = resolve));
    let slowed = false;
    broadcasts.endIfIdle = async (id: BroadcastId) => {
      if (!slowed) {
        slowed = true;
        asked!();
        await sleep(2_000);
      }
      return endIfIdle(id);
    };
    try {
      await assertPublished('the first publish', publish(rtmpUrl(server, f.stream.streamKey), SECONDS));
      await askedToEnd;
      const back = publish(rtmpUrl(server, f.stream.streamKey), SECONDS);
      await waitFor('the encoder to be back', () => events.of('publish.started').length === 2, 5_000);
      assert.equal(events.of('publish.started')[1]!.resumed, true, 'the broadcast was still open: the encoder resumed it');
      // Live again: the live playlist grows past the reconnect and does not tell players it ended.
      const live = await waitFor('a segment after the reconnect in the live playlist', async () => {
        const reply = await getText(server, `/hls/${streamId}/index.m3u8`);
        if (reply.status !== 200) return undefined;
        return parsePlaylist(reply.text).entries.some((e) => e.discontinuity) ? reply.text : undefined;
      }, 8_000);
      assert.ok(back.running, 'still publishing');
      assert.doesNotMatch(live, /#EXT-X-ENDLIST/, `the live playlist of a live broadcast is not ended:\n${live}`);
      assert.equal(await isStreaming(server, f), true);

      await assertPublished('the encoder that came back', back);
      await waitForStreaming(server, f, false, (WINDOW + 5) * 1000);
      const all = await broadcastsOf(server, streamId);
      assert.equal(all.length, 1, 'one broadcast');
      await checkRecording(server, streamId, all[0]!.id, { seconds: 2 * SECONDS, discontinuities: 1 });
    } finally {
      broadcasts.endIfIdle = endIfIdle;
      events.close();
    }
  });
});
