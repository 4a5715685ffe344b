import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sharedChunks } from '../../../src/media/rtmp/shared-chunks.js';
import { ChunkDecoder, ChunkEncoder } from '../../../src/media/wire/rtmp/chunks.js';
import { MessageType, type RtmpMessage } from '../../../src/media/wire/rtmp/messages.js';

function video(size: number, timestamp = 1000): RtmpMessage {
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 7) & 0xff;
  return { chunkStreamId: 6, timestamp, type: MessageType.Video, streamId: 1, payload };
}

describe('sharedChunks', () => {
  it('chunks a message as the encoder does, for the framing asked', () => {
    for (const [size, chunkSize, csid, streamId, timestamp] of [
      [10_000, 4096, 6, 1, 1000],
      [0, 128, 4, 3, 0],
      [300, 128, 70, 1, 0x1000000],
      [9000, 4096, 400, 7, 5],
    ] as const) {
      const message = video(size, timestamp);
      const encoder = new ChunkEncoder();
      encoder.setChunkSize(chunkSize);
      const expected = encoder.encode({ ...message, chunkStreamId: csid, streamId });
      const bytes = sharedChunks(message, chunkSize, csid, streamId);
      assert.ok(bytes.equals(expected), `size ${size}, chunk size ${chunkSize}, csid ${csid}`);
      const decoder = new ChunkDecoder();
      if (chunkSize !== 128) {
        decoder.push(new ChunkEncoder().encode({ chunkStreamId: 2, timestamp: 0, type: MessageType.SetChunkSize, streamId: 0, payload: Buffer.from([0, 0, chunkSize >> 8, chunkSize & 0xff]) }));
      }
      const [decoded] = decoder.push(bytes);
      assert.equal(decoded!.streamId, streamId);
      assert.equal(decoded!.chunkStreamId, csid);
      assert.equal(decoded!.timestamp, timestamp);
      assert.ok(decoded!.payload.equals(message.payload));
    }
  });

  it('gives every sender of a message with the same framing the same bytes, made once', () => {
    const message = video(20_000);
    const first = sharedChunks(message, 4096, 6, 1);
    assert.equal(sharedChunks(message, 4096, 6, 1), first, 'the same Buffer, not a copy');
    // Destinations frame it otherwise; viewers still share theirs.
    const relay = sharedChunks(message, 4096, 6, 5);
    assert.notEqual(relay, first);
    assert.equal(relay.readUInt32LE(8), 5);
    assert.equal(sharedChunks(message, 4096, 6, 1), first);
    assert.equal(sharedChunks(message, 4096, 6, 5), relay);
  });
});
