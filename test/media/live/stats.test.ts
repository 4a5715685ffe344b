/**
 * A live session's numbers (src/media/live/stats.ts): kbit/s from the bytes counted between
 * samples, five minutes of samples kept, the reconnect window counting down, and the codecs,
 * picture and frame rate read from a real ffmpeg FLV's headers.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { LiveStatsRecorder, STATS_HISTORY_MS, STATS_SAMPLE_MS } from '../../../src/media/live/stats.js';
import { MessageType, type RtmpMessage } from '../../../src/media/wire/rtmp/messages.js';
import { ffmpegMissing, makeFlv, readFlvFile, tempDir } from '../support.js';
import { readFileSync } from 'node:fs';

const message = (type: number, bytes: number, timestamp = 0): RtmpMessage => ({ chunkStreamId: 4, timestamp, type, streamId: 1, payload: Buffer.alloc(bytes) });
const START = Date.parse('2026-01-01T00:00:00.000Z');

function recorder(clock: { now: number }) {
  // The timer is not used here: samples are taken by hand on a made-up clock.
  return new LiveStatsRecorder('b1', new Date(START).toISOString(), () => clock.now, 3_600_000);
}

describe('live session numbers', () => {
  const dir = tempDir('live-stats');
  after(() => dir.remove());

  test('kbit/s from the bytes between samples; uptime from the broadcast start', () => {
    const clock = { now: START };
    const stats = recorder(clock);
    try {
      for (let i = 0; i < 10; i++) stats.count(message(MessageType.Video, 25_000)); // 250 kB
      clock.now += STATS_SAMPLE_MS;
      stats.sample();
      clock.now += STATS_SAMPLE_MS;
      stats.sample(); // nothing came in
      const snap = stats.snapshot({ publisherConnected: true, reconnectWindow: 30, viewers: 2 });
      assert.deepEqual(snap.bitrate, [
        { at: START + 2000, kbps: 1000 }, // 250 000 bytes · 8 / 2 s = 1 000 kbit/s
        { at: START + 4000, kbps: 0 },
      ]);
      assert.equal(snap.bitrateKbps, 0);
      assert.equal(snap.uptimeSeconds, 4);
      assert.equal(snap.viewers, 2);
      assert.equal(snap.reconnectSecondsLeft, null);
      assert.equal(snap.video, null);
      assert.equal(snap.audio, null);
    } finally {
      stats.stop();
    }
  });

  test('five minutes of samples are kept, no more', () => {
    const clock = { now: START };
    const stats = recorder(clock);
    try {
      for (let i = 0; i < 400; i++) {
        stats.count(message(MessageType.Audio, 250 * (i + 1)));
        clock.now += STATS_SAMPLE_MS;
        stats.sample();
      }
      const { bitrate } = stats.snapshot({ publisherConnected: true, reconnectWindow: 0, viewers: 0 });
      assert.equal(bitrate.length, STATS_HISTORY_MS / STATS_SAMPLE_MS);
      assert.equal(bitrate.at(-1)!.at, clock.now);
      assert.ok(bitrate[0]!.at >= clock.now - STATS_HISTORY_MS);
      assert.equal(bitrate.at(-1)!.kbps, 400, '100 000 bytes in 2 s');
    } finally {
      stats.stop();
    }
  });

  test('the reconnect window counts down while the publisher is away, and is gone when it is back', () => {
    const clock = { now: START };
    const stats = recorder(clock);
    try {
      stats.publisherConnected();
      stats.publisherLeft(30);
      clock.now += 4_500;
      assert.equal(stats.snapshot({ publisherConnected: false, reconnectWindow: 30, viewers: 0 }).reconnectSecondsLeft, 26);
      clock.now += 60_000;
      assert.equal(stats.snapshot({ publisherConnected: false, reconnectWindow: 30, viewers: 0 }).reconnectSecondsLeft, 0);
      stats.publisherConnected();
      assert.equal(stats.snapshot({ publisherConnected: true, reconnectWindow: 30, viewers: 0 }).reconnectSecondsLeft, null);
    } finally {
      stats.stop();
    }
  });

  test('codecs, picture, frame rate and audio configuration from an ffmpeg FLV; read again for a new publisher', { skip: ffmpegMissing }, () => {
    const file = `${dir.path}/av.flv`;
    makeFlv(file, 'av', 3);
    const tags = readFlvFile(readFileSync(file));
    const stats = recorder({ now: START });
    try {
      const feed = () => {
        for (const tag of tags) {
          const m: RtmpMessage = { chunkStreamId: 4, timestamp: tag.timestamp, type: tag.type, streamId: 1, payload: tag.body };
          stats.count(m);
          stats.onMessage(m);
        }
      };
      feed();
      const snap = stats.snapshot({ publisherConnected: true, reconnectWindow: 0, viewers: 0 });
      assert.equal(snap.video?.codec, 'h264');
      assert.equal(snap.video?.width, 320);
      assert.equal(snap.video?.height, 240);
      assert.ok(Math.abs(snap.video!.frameRate! - 30) < 0.5, `30 fps (${snap.video?.frameRate})`);
      assert.deepEqual(snap.audio, { codec: 'aac', sampleRate: 44100, channels: 1 });
      assert.equal(stats.bytes, tags.reduce((sum, t) => sum + t.body.length, 0));

      stats.publisherConnected();
      assert.equal(stats.snapshot({ publisherConnected: true, reconnectWindow: 0, viewers: 0 }).video, null, 'a new publisher’s codecs are not known yet');
      feed();
      assert.equal(stats.snapshot({ publisherConnected: true, reconnectWindow: 0, viewers: 0 }).video?.width, 320);
    } finally {
      stats.stop();
    }
  });
});
