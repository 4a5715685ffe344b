import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LiveStream } from '../../../src/media/live/live-stream.js';
import { MessageType, type RtmpMessage } from '../../../src/media/wire/rtmp/messages.js';

function video(timestamp: number, keyframe: boolean): RtmpMessage {
  // 0x17 / 0x27: keyframe / inter frame, AVC; packet type 1 (NALU); composition time 0; one empty NAL.
  const payload = Buffer.from([keyframe ? 0x17 : 0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]);
  return { chunkStreamId: 6, timestamp, type: MessageType.Video, streamId: 1, payload };
}

describe('live stream timestamps across a publisher reconnect', () => {
  it('go on for a viewer who stays, instead of jumping back to the new publisher\'s zero', () => {
    const live = new LiveStream();
    const seen: number[] = [];
    live.addViewer({ send: (batch) => (seen.push(...batch.map((m) => m.timestamp)), true), close: () => {} });
    for (const t of [0, 33, 66, 100]) live.publish(video(t, t === 0));
    live.resetForNewPublisher();
    for (const t of [0, 33, 66]) live.publish(video(t, t === 0));
    assert.deepEqual(seen, [0, 33, 66, 100, 140, 173, 206]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, 'timestamps never go back');
  });

  it('are passed through untouched while the first publisher lasts', () => {
    const live = new LiveStream();
    const seen: number[] = [];
    live.addViewer({ send: (batch) => (seen.push(...batch.map((m) => m.timestamp)), true), close: () => {} });
    for (const t of [5000, 5033, 5066]) live.publish(video(t, t === 5000));
    assert.deepEqual(seen, [5000, 5033, 5066]);
  });
});
