/** The Live section's words (web/src/live.ts): codecs, picture, audio, durations, reconnect state. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { audioText, bitrateText, durationText, publicPlaybackId, reconnectText, videoText } from '../../web/src/live.js';

describe('the Live section in words', () => {
  test('video and audio as the media plane saw them, or what of them is known', () => {
    assert.equal(videoText({ codec: 'h264', width: 320, height: 240, frameRate: 30 }), 'H.264 · 320×240 · 30 fps');
    assert.equal(videoText({ codec: 'h264', width: 1920, height: 1080, frameRate: 29.97 }), 'H.264 · 1920×1080 · 29.97 fps');
    assert.equal(videoText({ codec: 'hvc1', width: null, height: null, frameRate: null }), 'hvc1');
    assert.equal(videoText(null), 'Waiting for video…');
    assert.equal(audioText({ codec: 'aac', sampleRate: 44100, channels: 2 }), 'AAC · 44.1 kHz · stereo');
    assert.equal(audioText({ codec: 'aac', sampleRate: 48000, channels: 1 }), 'AAC · 48 kHz · mono');
    assert.equal(audioText({ codec: 'MP3', sampleRate: null, channels: null }), 'MP3');
    assert.equal(audioText(null), 'No audio');
  });

  test('bitrate, uptime and the reconnect state', () => {
    assert.equal(bitrateText(2500), '2,500 kbit/s');
    assert.equal(bitrateText(null), 'Measuring…');
    assert.equal(durationText(5), '0:05');
    assert.equal(durationText(125), '2:05');
    assert.equal(durationText(3723), '1:02:03');
    assert.equal(reconnectText({ publisherConnected: true, reconnectSecondsLeft: null }), null);
    assert.equal(reconnectText({ publisherConnected: false, reconnectSecondsLeft: 24 }), 'Reconnecting, 24 s left');
  });

  test('the preview plays the first public playback id', () => {
    assert.equal(publicPlaybackId({ playback_ids: [{ id: 's1', policy: 'signed' }, { id: 'p1', policy: 'public' }] }), 'p1');
    assert.equal(publicPlaybackId({ playback_ids: [{ id: 's1', policy: 'signed' }] }), null);
    assert.equal(publicPlaybackId({}), null);
  });
});
