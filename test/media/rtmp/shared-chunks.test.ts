import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asPublished, sharedBatchChunks, sharedChunks } from '../../../src/media/rtmp/shared-chunks.js';
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

  it('chunks a batch as its messages one after another, once for every sender framing it alike', () => {
    const audio: RtmpMessage = { chunkStreamId: 4, timestamp: 1010, type: MessageType.Audio, streamId: 1, payload: Buffer.from([0xaf, 1, 2, 3]) };
    const batch = [video(9000, 1000), audio, video(300, 1033)];
    const bytes = sharedBatchChunks(batch, 4096, asPublished, 1);
    assert.equal(sharedBatchChunks(batch, 4096, asPublished, 1), bytes, 'the same Buffer, not a copy');
    assert.ok(bytes.equals(Buffer.concat(batch.map((m) => sharedChunks(m, 4096, m.chunkStreamId, 1)))));
    const byKind = (m: RtmpMessage) => (m.type === MessageType.Audio ? 14 : 16);
    const other = sharedBatchChunks(batch, 4096, byKind, 3);
    assert.notEqual(other, bytes);
    const decoder = new ChunkDecoder();
    decoder.push(new ChunkEncoder().encode({ chunkStreamId: 2, timestamp: 0, type: MessageType.SetChunkSize, streamId: 0, payload: Buffer.from([0, 0, 0x10, 0]) }));
    const decoded = decoder.push(other);
    assert.deepEqual(
      decoded.map((m) => [m.chunkStreamId, m.streamId, m.timestamp, m.type]),
      batch.map((m) => [byKind(m), 3, m.timestamp, m.type]),
    );
    decoded.forEach((m, i) => assert.ok(m.payload.equals(batch[i]!.payload)));
    // A batch of one is that message's chunks.
    assert.ok(sharedBatchChunks([audio], 4096, asPublished, 1).equals(sharedChunks(audio, 4096, 4, 1)));
  });

  it('keeps each batch its own bytes while later batches are chunked', () => {
    // Batches of media size share slabs: one must never be written over by the next.
    const batches = Array.from({ length: 40 }, (_, n) => [video(12_000 + n * 97, n * 100), video(5000 + n, n * 100 + 33)]);
    const made = batches.map((batch) => sharedBatchChunks(batch, 4096, asPublished, 1));
    batches.forEach((batch, n) => {
      const encoder = new ChunkEncoder();
      encoder.setChunkSize(4096);
      assert.ok(made[n]!.equals(Buffer.concat(batch.map((m) => encoder.encode(m)))), `batch ${n}`);
    });
  });
});
