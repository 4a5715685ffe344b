import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { asPublished, sharedBatchChunks } from '../../../src/media/rtmp/shared-chunks.js';
import { fanOut, fanOutBuffer, fanOutNow, wrote } from '../../../src/media/wire/fan-out.js';
import { ChunkEncoder } from '../../../src/media/wire/rtmp/chunks.js';
import { MessageType, type RtmpMessage } from '../../../src/media/wire/rtmp/messages.js';

/** Where a Buffer's bytes are: its ArrayBuffer and offset. */
const place = (b: Buffer) => [b.buffer, b.byteOffset] as const;

/** A stream that takes each write and never finishes it: what it was written stays queued. */
const stuck = () => new Writable({ write: () => {} });
/** A stream that finishes each write at once, as a socket does when the kernel takes it all. */
const quick = () => new Writable({ write: (_chunk, _encoding, done) => done() });

function video(size: number, fill: number, timestamp = 0): RtmpMessage {
  return { chunkStreamId: 6, timestamp, type: MessageType.Video, streamId: 1, payload: Buffer.alloc(size, fill) };
}

describe('fan-out memory', () => {
  it('reuses the memory of a fan-out whose writes all went out at once', () => {
    let first: Buffer | undefined;
    let second: Buffer | undefined;
    fanOut(() => {
      first = fanOutBuffer(30_000);
      const out = quick();
      out.write(first);
      wrote(out);
    });
    fanOut(() => {
      second = fanOutBuffer(20_000);
    });
    assert.deepEqual(place(second!), place(first!), 'the next fan-out starts where the last one did');
  });

  it('keeps what a writer queued: the next fan-out is cut after it, and the queued bytes stay as written', () => {
    let held: Buffer | undefined;
    const out = stuck();
    fanOut(() => {
      held = fanOutBuffer(10_000).fill(0xab);
      out.write(held);
      wrote(out);
    });
    let next: Buffer | undefined;
    fanOut(() => {
      next = fanOutBuffer(10_000).fill(0xcd);
    });
    assert.notDeepEqual(place(next!), place(held!));
    assert.ok(held!.every((b) => b === 0xab), 'the queued bytes were not written over');
  });

  it('gives memory of its own outside a fan-out and to a batch too large to reuse', () => {
    const outside = fanOutBuffer(4096);
    const again = fanOutBuffer(4096);
    assert.notDeepEqual(place(outside), place(again));
    let large: Buffer | undefined;
    let after: Buffer | undefined;
    fanOut(() => {
      large = fanOutBuffer(600 * 1024);
    });
    fanOut(() => {
      after = fanOutBuffer(600 * 1024);
    });
    assert.notEqual(large!.buffer, after!.buffer);
  });

  it('numbers fan-outs, and a nested one is part of the outer', () => {
    assert.equal(fanOutNow(), 0);
    let outer = 0;
    let inner = 0;
    fanOut(() => {
      outer = fanOutNow();
      fanOut(() => {
        inner = fanOutNow();
      });
    });
    assert.ok(outer > 0);
    assert.equal(inner, outer);
    assert.equal(fanOutNow(), 0);
  });

  it('chunks a batch again once its fan-out is over, since that memory now holds other bytes', () => {
    const encoder = new ChunkEncoder();
    encoder.setChunkSize(4096);
    const batch = [video(9000, 0x11), video(3000, 0x22, 33)];
    const expected = Buffer.concat(batch.map((m) => encoder.encode(m)));
    let during: Buffer | undefined;
    fanOut(() => {
      during = sharedBatchChunks(batch, 4096, asPublished, 1);
      assert.equal(sharedBatchChunks(batch, 4096, asPublished, 1), during, 'shared by every writer of the fan-out');
    });
    // The next fan-out's batch takes the same memory.
    fanOut(() => {
      sharedBatchChunks([video(12_000, 0x33), video(2000, 0x44)], 4096, asPublished, 1);
    });
    assert.ok(!during!.equals(expected), 'the memory was reused (else this test proves nothing)');
    const later = sharedBatchChunks(batch, 4096, asPublished, 1);
    assert.ok(later.equals(expected));
  });
});
