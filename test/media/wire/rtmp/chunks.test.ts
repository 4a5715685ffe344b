import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ChunkDecoder, ChunkEncoder, ChunkError, DEFAULT_CHUNK_LIMITS, MAX_CHUNK_SIZE, type ChunkLimits } from '../../../../src/media/wire/rtmp/chunks.js';
import { controlMessages, MessageType, type RtmpMessage } from '../../../../src/media/wire/rtmp/messages.js';

/** Deterministic bytes (xorshift32), so a failure reproduces. */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function message(chunkStreamId: number, timestamp: number, type: number, streamId: number, payload: Buffer | number[]): RtmpMessage {
  return { chunkStreamId, timestamp, type, streamId, payload: Buffer.from(payload) };
}

const EXTENDED = 0xffffff;

/** The chunk basic header, written from the spec (5.3.1.1), independently of the encoder. */
function basic(fmt: number, csid: number): Buffer {
  if (csid < 64) return Buffer.from([(fmt << 6) | csid]);
  if (csid < 320) return Buffer.from([fmt << 6, csid - 64]);
  return Buffer.from([(fmt << 6) | 1, (csid - 64) & 0xff, (csid - 64) >> 8]);
}

interface ChunkSpec {
  fmt: 0 | 1 | 2 | 3;
  csid: number;
  /** The timestamp (fmt 0) or delta (fmt 1, 2); 0xFFFFFF or more adds the extended field. */
  timestamp?: number;
  length?: number;
  type?: number;
  streamId?: number;
  /** The extended timestamp field of a fmt 3 chunk, when its chunk stream's last header had one. */
  extended?: number;
  data?: Buffer | number[];
}

/** One chunk written by hand from the spec (5.3.1.2). */
function chunk(spec: ChunkSpec): Buffer {
  const parts = [basic(spec.fmt, spec.csid)];
  const timestamp = spec.timestamp ?? 0;
  if (spec.fmt <= 2) {
    const h = Buffer.alloc(spec.fmt === 0 ? 11 : spec.fmt === 1 ? 7 : 3);
    h.writeUIntBE(Math.min(timestamp, EXTENDED), 0, 3);
    if (spec.fmt <= 1) {
      h.writeUIntBE(spec.length ?? 0, 3, 3);
      h[6] = spec.type ?? 0;
    }
    if (spec.fmt === 0) h.writeUInt32LE(spec.streamId ?? 0, 7);
    parts.push(h);
    if (timestamp >= EXTENDED) parts.push(u32(timestamp));
  } else if (spec.extended !== undefined) {
    parts.push(u32(spec.extended));
  }
  parts.push(Buffer.from(spec.data ?? []));
  return Buffer.concat(parts);
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

/** The chunks of one message as the spec lays them out: fmt 0, then fmt 3 continuations. */
function chunksOf(m: RtmpMessage, chunkSize: number): Buffer[] {
  const ext = m.timestamp >= EXTENDED ? m.timestamp : undefined;
  const out: Buffer[] = [];
  for (let start = 0; start === 0 || start < m.payload.length; start += chunkSize) {
    const data = m.payload.subarray(start, start + chunkSize);
    out.push(
      start === 0
        ? chunk({ fmt: 0, csid: m.chunkStreamId, timestamp: m.timestamp, length: m.payload.length, type: m.type, streamId: m.streamId, data })
        : chunk({ fmt: 3, csid: m.chunkStreamId, extended: ext, data }),
    );
  }
  return out;
}

function decodeAll(bytes: Buffer, limits?: ChunkLimits, piece = bytes.length || 1): RtmpMessage[] {
  const decoder = new ChunkDecoder(limits);
  const out: RtmpMessage[] = [];
  for (let i = 0; i < bytes.length; i += piece) out.push(...decoder.push(bytes.subarray(i, i + piece)));
  return out;
}

/** The call throws ChunkError (and nothing else). */
function assertChunkError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ChunkError, `expected ChunkError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

function limits(overrides: Partial<ChunkLimits>): ChunkLimits {
  return { ...DEFAULT_CHUNK_LIMITS, ...overrides };
}

describe('RTMP chunk stream round trips', () => {
  const payloadSizes = [0, 1, 127, 128, 129, 100_000];

  for (const chunkSize of [1, 128, 4096, 65536, MAX_CHUNK_SIZE]) {
    it(`carries payloads of ${payloadSizes.join(', ')} bytes at chunk size ${chunkSize}`, () => {
      const encoder = new ChunkEncoder();
      // The SetChunkSize itself goes out at the default size; the decoder applies it at once.
      const parts = [encoder.encode(controlMessages.setChunkSize(chunkSize))];
      encoder.setChunkSize(chunkSize);
      const sent = payloadSizes.map((size, i) =>
        message(i % 2 === 0 ? 6 : 4, 1000 + i * 40, i % 2 === 0 ? MessageType.Video : MessageType.Audio, 1, pseudoRandomBytes(size, size + 1)),
      );
      for (const m of sent) {
        const bytes = encoder.encode(m);
        // One-byte basic headers (csid 4 and 6): an 11-byte header, then one byte per continuation.
        const chunks = Math.max(1, Math.ceil(m.payload.length / chunkSize));
        assert.equal(bytes.length, 1 + 11 + m.payload.length + (chunks - 1), `encoded size of ${m.payload.length} bytes`);
        parts.push(bytes);
      }
      const stream = Buffer.concat(parts);

      const decoder = new ChunkDecoder();
      const got = decoder.push(stream);
      assert.equal(decoder.inChunkSize, chunkSize);
      assert.equal(decoder.bytesReceived, stream.length);
      assert.equal(got.length, 1 + sent.length);
      assert.equal(got[0]!.type, MessageType.SetChunkSize);
      assert.equal(got[0]!.payload.readUInt32BE(0), chunkSize);
      assert.deepEqual(got.slice(1), sent);
    });
  }

  it('produces the same messages whether the bytes come at once, one at a time or in odd pieces', () => {
    const encoder = new ChunkEncoder();
    const parts: Buffer[] = [];
    const sent: RtmpMessage[] = [];
    const send = (m: RtmpMessage): void => {
      parts.push(encoder.encode(m));
      sent.push(m);
    };
    send(message(3, 0, MessageType.CommandAmf0, 0, pseudoRandomBytes(300, 1)));
    send(controlMessages.setChunkSize(1000));
    encoder.setChunkSize(1000);
    for (let i = 0; i < 6; i++) send(message(6, i * 33, MessageType.Video, 1, pseudoRandomBytes(2500 + i * 301, 10 + i)));
    send(message(4, 0xfffffff0, MessageType.Audio, 1, pseudoRandomBytes(2100, 99)));
    send(controlMessages.setChunkSize(7));
    encoder.setChunkSize(7);
    send(message(330, 0xffffff, MessageType.DataAmf0, 1, pseudoRandomBytes(50, 5)));
    send(message(70, 5, MessageType.Audio, 1, []));
    const stream = Buffer.concat(parts);

    const whole = decodeAll(stream);
    assert.deepEqual(whole, sent);
    assert.deepEqual(decodeAll(stream, undefined, 1), sent);
    for (const piece of [2, 3, 7, 11, 13, 1000, 4097]) assert.deepEqual(decodeAll(stream, undefined, piece), sent, `pieces of ${piece}`);
  });

  it('copies payloads out of the pushed buffer, so the caller may reuse it', () => {
    const bytes = new ChunkEncoder().encode(message(6, 0, MessageType.Video, 1, [1, 2, 3]));
    const decoder = new ChunkDecoder();
    const [got] = decoder.push(bytes);
    bytes.fill(0);
    assert.deepEqual([...got!.payload], [1, 2, 3]);
  });
});

describe('RTMP chunk headers', () => {
  it('reads 1-, 2- and 3-byte basic headers: chunk streams 63, 64, 319, 320 and 65599', () => {
    const expected: Record<number, number[]> = { 63: [0x3f], 64: [0x00, 0x00], 319: [0x00, 0xff], 320: [0x01, 0x00, 0x01], 65599: [0x01, 0xff, 0xff] };
    const encoder = new ChunkEncoder();
    for (const [csid, header] of Object.entries(expected)) {
      const m = message(Number(csid), 7, MessageType.Audio, 1, pseudoRandomBytes(300, Number(csid)));
      const bytes = encoder.encode(m);
      assert.deepEqual([...bytes.subarray(0, header.length)], header, `fmt 0 basic header of ${csid}`);
      // The continuation chunks carry fmt 3 in the same form.
      const continuation = bytes.subarray(header.length + 11 + 128, header.length + 11 + 128 + header.length);
      assert.deepEqual([...continuation], [header[0]! | 0xc0, ...header.slice(1)], `fmt 3 basic header of ${csid}`);
      assert.deepEqual(decodeAll(bytes), [m]);
      assert.deepEqual(decodeAll(bytes, undefined, 1), [m]);
    }
  });

  it('reads chunk stream 64 written in the 3-byte form', () => {
    const bytes = Buffer.concat([Buffer.from([0x01, 0x00, 0x00]), chunk({ fmt: 0, csid: 5, length: 1, type: 8, streamId: 1, data: [9] }).subarray(1)]);
    assert.deepEqual(decodeAll(bytes), [message(64, 0, 8, 1, [9])]);
  });

  it('refuses to encode chunk stream ids 0, 1 and above 65599', () => {
    for (const csid of [0, 1, 65600]) assertChunkError(() => new ChunkEncoder().encode(message(csid, 0, 8, 1, [1])), /chunk stream id/);
  });

  it('accumulates fmt 1 and fmt 2 deltas, and a fmt 3 new message repeats the last delta (spec example 1 and 2)', () => {
    const bytes = Buffer.concat([
      chunk({ fmt: 0, csid: 4, timestamp: 1000, length: 3, type: MessageType.Audio, streamId: 1, data: [1, 2, 3] }),
      chunk({ fmt: 2, csid: 4, timestamp: 20, data: [4, 5, 6] }),
      chunk({ fmt: 3, csid: 4, data: [7, 8, 9] }),
      chunk({ fmt: 3, csid: 4, data: [10, 11, 12] }),
      chunk({ fmt: 1, csid: 4, timestamp: 33, length: 2, type: MessageType.Video, data: [13, 14] }),
      chunk({ fmt: 3, csid: 4, data: [15, 16] }),
      chunk({ fmt: 2, csid: 4, timestamp: 0, data: [17, 18] }),
      chunk({ fmt: 3, csid: 4, data: [19, 20] }),
    ]);
    const expected = [
      message(4, 1000, MessageType.Audio, 1, [1, 2, 3]),
      message(4, 1020, MessageType.Audio, 1, [4, 5, 6]),
      message(4, 1040, MessageType.Audio, 1, [7, 8, 9]),
      message(4, 1060, MessageType.Audio, 1, [10, 11, 12]),
      message(4, 1093, MessageType.Video, 1, [13, 14]),
      message(4, 1126, MessageType.Video, 1, [15, 16]),
      message(4, 1126, MessageType.Video, 1, [17, 18]),
      message(4, 1126, MessageType.Video, 1, [19, 20]),
    ];
    assert.deepEqual(decodeAll(bytes), expected);
    assert.deepEqual(decodeAll(bytes, undefined, 1), expected);
  });

  it('continuation chunks of one message do not move its timestamp (spec example 2)', () => {
    const payload = pseudoRandomBytes(307, 3);
    const bytes = Buffer.concat([
      chunk({ fmt: 0, csid: 4, timestamp: 1000, length: 307, type: MessageType.Video, streamId: 12345, data: payload.subarray(0, 128) }),
      chunk({ fmt: 3, csid: 4, data: payload.subarray(128, 256) }),
      chunk({ fmt: 3, csid: 4, data: payload.subarray(256) }),
      chunk({ fmt: 3, csid: 4, data: payload.subarray(0, 128) }),
    ]);
    const decoder = new ChunkDecoder();
    assert.deepEqual(decoder.push(bytes), [message(4, 1000, MessageType.Video, 12345, payload)]);
    // The fourth chunk opened a new 307-byte message, not yet complete.
    assert.deepEqual(decoder.push(Buffer.concat([chunk({ fmt: 3, csid: 4, data: payload.subarray(128, 256) }), chunk({ fmt: 3, csid: 4, data: payload.subarray(256) })])), [
      message(4, 2000, MessageType.Video, 12345, payload),
    ]);
  });

  it('a fmt 3 chunk right after a fmt 0 chunk takes the fmt 0 timestamp as its delta (spec 5.3.1.2.4)', () => {
    // ffmpeg writes exactly this when the second message's delta equals the first one's timestamp.
    const bytes = Buffer.concat([
      chunk({ fmt: 0, csid: 4, timestamp: 40, length: 2, type: MessageType.Audio, streamId: 1, data: [1, 2] }),
      chunk({ fmt: 3, csid: 4, data: [3, 4] }),
      chunk({ fmt: 3, csid: 4, data: [5, 6] }),
    ]);
    assert.deepEqual(
      decodeAll(bytes).map((m) => m.timestamp),
      [40, 80, 120],
    );
  });

  it('a fmt 0 chunk sets an absolute timestamp, also going backwards', () => {
    const bytes = Buffer.concat([
      chunk({ fmt: 0, csid: 6, timestamp: 5000, length: 1, type: 9, streamId: 1, data: [1] }),
      chunk({ fmt: 2, csid: 6, timestamp: 40, data: [2] }),
      chunk({ fmt: 0, csid: 6, timestamp: 100, length: 1, type: 9, streamId: 1, data: [3] }),
    ]);
    assert.deepEqual(
      decodeAll(bytes).map((m) => m.timestamp),
      [5000, 5040, 100],
    );
  });
});

describe('RTMP extended timestamps', () => {
  for (const timestamp of [0xfffffe, 0xffffff, 0x1000000, 0x7fffffff, 0xffffffff]) {
    it(`round-trips timestamp 0x${timestamp.toString(16)} over several chunks`, () => {
      const m = message(6, timestamp, MessageType.Video, 1, pseudoRandomBytes(1000, timestamp));
      const bytes = new ChunkEncoder().encode(m);
      const ext = timestamp >= EXTENDED ? 4 : 0;
      // 8 chunks of at most 128 bytes: the extended field repeats on every continuation.
      assert.equal(bytes.length, 1 + 11 + ext + 1000 + 7 * (1 + ext));
      assert.deepEqual(bytes, Buffer.concat(chunksOf(m, 128)), 'the encoder lays chunks out as the spec does');
      assert.deepEqual(decodeAll(bytes), [m]);
      assert.deepEqual(decodeAll(bytes, undefined, 1), [m]);
    });
  }

  it('reads an extended delta in fmt 1 and fmt 2 headers and on their continuation chunks', () => {
    const a = pseudoRandomBytes(200, 1);
    const b = pseudoRandomBytes(150, 2);
    const bytes = Buffer.concat([
      chunk({ fmt: 0, csid: 6, timestamp: 100, length: 10, type: 9, streamId: 1, data: Buffer.alloc(10, 7) }),
      chunk({ fmt: 1, csid: 6, timestamp: 0x1000000, length: 200, type: 9, data: a.subarray(0, 128) }),
      chunk({ fmt: 3, csid: 6, extended: 0x1000000, data: a.subarray(128) }),
      chunk({ fmt: 2, csid: 6, timestamp: 0xffffff, data: a.subarray(0, 128) }),
      chunk({ fmt: 3, csid: 6, extended: 0xffffff, data: a.subarray(128) }),
      chunk({ fmt: 1, csid: 6, timestamp: 5, length: 150, type: 9, data: b.subarray(0, 128) }),
      chunk({ fmt: 3, csid: 6, data: b.subarray(128) }),
    ]);
    const expected = [
      message(6, 100, 9, 1, Buffer.alloc(10, 7)),
      message(6, 100 + 0x1000000, 9, 1, a),
      message(6, 100 + 0x1000000 + 0xffffff, 9, 1, a),
      message(6, 100 + 0x1000000 + 0xffffff + 5, 9, 1, b),
    ];
    assert.deepEqual(decodeAll(bytes), expected);
    assert.deepEqual(decodeAll(bytes, undefined, 1), expected);
  });

  it('wraps timestamps at 32 bits', () => {
    const bytes = Buffer.concat([
      chunk({ fmt: 0, csid: 6, timestamp: 0xfffffff0, length: 1, type: 9, streamId: 1, data: [1] }),
      chunk({ fmt: 2, csid: 6, timestamp: 0x20, data: [2] }),
    ]);
    assert.deepEqual(
      decodeAll(bytes).map((m) => m.timestamp),
      [0xfffffff0, 0x10],
    );
  });
});

describe('RTMP interleaved chunk streams and Abort', () => {
  it('reassembles audio and video whose chunks alternate mid-message', () => {
    const video = message(6, 1000, MessageType.Video, 1, pseudoRandomBytes(1000, 6));
    const audio = message(4, 1001, MessageType.Audio, 1, pseudoRandomBytes(300, 4));
    const data = message(5, 1002, MessageType.DataAmf0, 1, pseudoRandomBytes(129, 5));
    const streams = [chunksOf(video, 128), chunksOf(audio, 128), chunksOf(data, 128)];
    const interleaved: Buffer[] = [];
    for (let i = 0; streams.some((s) => i < s.length); i++) for (const s of streams) if (i < s.length) interleaved.push(s[i]!);
    const bytes = Buffer.concat(interleaved);
    // Each message comes out when its last chunk arrives: data (2 chunks), audio (3), video (8).
    assert.deepEqual(decodeAll(bytes), [data, audio, video]);
    assert.deepEqual(decodeAll(bytes, undefined, 1), [data, audio, video]);
  });

  it('Abort drops the partial message of a chunk stream and frees its buffer', () => {
    const small = limits({ maxBufferedBytes: 1000 });
    const decoder = new ChunkDecoder(small);
    const setChunkSize = chunk({ fmt: 0, csid: 2, length: 4, type: MessageType.SetChunkSize, data: u32(900) });
    assert.deepEqual(decoder.push(setChunkSize).length, 1);
    assert.deepEqual(decoder.push(chunk({ fmt: 0, csid: 6, timestamp: 0, length: 2000, type: 9, streamId: 1, data: Buffer.alloc(900, 1) })), []);
    const abort = chunk({ fmt: 0, csid: 2, length: 4, type: MessageType.Abort, data: u32(6) });
    const afterAbort = decoder.push(abort);
    assert.equal(afterAbort.length, 1);
    assert.equal(afterAbort[0]!.type, MessageType.Abort);
    // Without the Abort these 900 bytes would pass the 1000-byte limit.
    assert.deepEqual(decoder.push(chunk({ fmt: 0, csid: 8, timestamp: 0, length: 1900, type: 9, streamId: 1, data: Buffer.alloc(900, 2) })), []);
    // The aborted stream starts a new message with a full header and nothing of the old one.
    const fresh = decoder.push(chunk({ fmt: 0, csid: 6, timestamp: 7, length: 3, type: 9, streamId: 1, data: [5, 6, 7] }));
    assert.deepEqual(fresh, [message(6, 7, 9, 1, [5, 6, 7])]);
  });

  it('Abort lets a fmt 3 chunk open the next message with the old header', () => {
    const bytes = Buffer.concat([
      chunk({ fmt: 0, csid: 6, timestamp: 10, length: 200, type: 9, streamId: 1, data: Buffer.alloc(128, 1) }),
      chunk({ fmt: 0, csid: 2, length: 4, type: MessageType.Abort, data: u32(6) }),
      chunk({ fmt: 2, csid: 6, timestamp: 5, data: Buffer.alloc(128, 2) }),
      chunk({ fmt: 3, csid: 6, data: Buffer.alloc(72, 2) }),
    ]);
    const got = decodeAll(bytes);
    assert.deepEqual(
      got.map((m) => m.type),
      [MessageType.Abort, 9],
    );
    assert.deepEqual(got[1], message(6, 15, 9, 1, Buffer.alloc(200, 2)));
  });

  it('an Abort for a chunk stream without state changes nothing', () => {
    const bytes = Buffer.concat([
      chunk({ fmt: 0, csid: 2, length: 4, type: MessageType.Abort, data: u32(40) }),
      chunk({ fmt: 0, csid: 6, length: 1, type: 9, streamId: 1, data: [1] }),
    ]);
    assert.deepEqual(
      decodeAll(bytes).map((m) => m.type),
      [MessageType.Abort, 9],
    );
  });
});

describe('RTMP chunk stream limits', () => {
  it('refuses a message longer than maxMessageSize as soon as its header arrives', () => {
    const small = limits({ maxMessageSize: 1000 });
    const at = new ChunkDecoder(small);
    at.push(chunk({ fmt: 0, csid: 2, length: 4, type: 1, data: u32(1000) }));
    assert.equal(at.push(chunk({ fmt: 0, csid: 6, length: 1000, type: 9, streamId: 1, data: Buffer.alloc(1000) })).length, 1, '1000 bytes is allowed');
    // The header alone is enough to refuse, with no payload behind it.
    assertChunkError(() => new ChunkDecoder(small).push(chunk({ fmt: 0, csid: 6, length: 1001, type: 9, streamId: 1 })), /exceeds the limit/);
    assertChunkError(() => new ChunkDecoder().push(chunk({ fmt: 0, csid: 6, length: 0xffffff, type: 9, streamId: 1 })), /exceeds the limit/);
    // A fmt 1 header announcing a new, too long message on a known stream.
    const known = new ChunkDecoder(small);
    known.push(chunk({ fmt: 0, csid: 6, length: 1, type: 9, streamId: 1, data: [1] }));
    assertChunkError(() => known.push(chunk({ fmt: 1, csid: 6, length: 5000, type: 9 })), /exceeds the limit/);
  });

  it('refuses more chunk streams than maxChunkStreams', () => {
    const decoder = new ChunkDecoder(limits({ maxChunkStreams: 4 }));
    for (const csid of [2, 3, 4, 5]) assert.equal(decoder.push(chunk({ fmt: 0, csid, length: 1, type: 9, streamId: 1, data: [1] })).length, 1);
    // Known streams keep working.
    assert.equal(decoder.push(chunk({ fmt: 0, csid: 3, length: 1, type: 9, streamId: 1, data: [1] })).length, 1);
    assertChunkError(() => decoder.push(chunk({ fmt: 0, csid: 6, length: 1, type: 9, streamId: 1, data: [1] })), /too many chunk streams/);
  });

  it('refuses more partial message data than maxBufferedBytes across chunk streams', () => {
    const decoder = new ChunkDecoder(limits({ maxBufferedBytes: 1000, maxChunkStreams: 64 }));
    // Ten messages of 200 bytes, each with its first 100 bytes: 1000 bytes held.
    decoder.push(chunk({ fmt: 0, csid: 2, length: 4, type: 1, data: u32(100) }));
    for (let csid = 10; csid < 20; csid++) {
      assert.deepEqual(decoder.push(chunk({ fmt: 0, csid, length: 200, type: 9, streamId: 1, data: Buffer.alloc(100) })), []);
    }
    assertChunkError(() => decoder.push(chunk({ fmt: 0, csid: 20, length: 200, type: 9, streamId: 1, data: Buffer.alloc(100) })), /partial message data/);
  });

  it('counts completed messages out of the buffered bytes', () => {
    const decoder = new ChunkDecoder(limits({ maxBufferedBytes: 1000 }));
    decoder.push(chunk({ fmt: 0, csid: 2, length: 4, type: 1, data: u32(1000) }));
    // Far more than 1000 bytes in total, never more than 1000 at once.
    for (let i = 0; i < 50; i++) assert.equal(decoder.push(chunk({ fmt: 0, csid: 6, timestamp: i, length: 1000, type: 9, streamId: 1, data: Buffer.alloc(1000) })).length, 1);
  });

  it('refuses fmt 1, 2 and 3 on a chunk stream that has had no full header', () => {
    for (const fmt of [1, 2, 3] as const) {
      assertChunkError(() => new ChunkDecoder().push(chunk({ fmt, csid: 6, timestamp: 1, length: 1, type: 9, data: [1] })), /without a full header/);
    }
  });

  it('refuses a new message header in the middle of a message', () => {
    for (const fmt of [0, 1, 2] as const) {
      const decoder = new ChunkDecoder();
      assert.deepEqual(decoder.push(chunk({ fmt: 0, csid: 6, length: 300, type: 9, streamId: 1, data: Buffer.alloc(128) })), []);
      assertChunkError(
        () => decoder.push(chunk({ fmt, csid: 6, timestamp: 1, length: 10, type: 9, streamId: 1, data: Buffer.alloc(10) })),
        /before the last message was complete/,
      );
    }
  });

  it('refuses SetChunkSize 0 (also as 0x80000000 with the reserved bit) and short control messages', () => {
    for (const size of [0, 0x80000000]) {
      assertChunkError(() => new ChunkDecoder().push(chunk({ fmt: 0, csid: 2, length: 4, type: MessageType.SetChunkSize, data: u32(size) })), /chunk size 0/);
    }
    assertChunkError(() => new ChunkDecoder().push(chunk({ fmt: 0, csid: 2, length: 2, type: MessageType.SetChunkSize, data: [0, 1] })), /short SetChunkSize/);
    assertChunkError(() => new ChunkDecoder().push(chunk({ fmt: 0, csid: 2, length: 3, type: MessageType.Abort, data: [0, 0, 6] })), /short Abort/);
    // The reserved top bit is ignored otherwise.
    const decoder = new ChunkDecoder();
    decoder.push(chunk({ fmt: 0, csid: 2, length: 4, type: MessageType.SetChunkSize, data: u32(0x80001000) }));
    assert.equal(decoder.inChunkSize, 0x1000);
  });

  it('the encoder refuses chunk sizes outside 1..2^31-1 and payloads over 16 MiB - 1', () => {
    const encoder = new ChunkEncoder();
    for (const size of [0, -1, 0x80000000]) assertChunkError(() => encoder.setChunkSize(size), /invalid chunk size/);
    assertChunkError(() => encoder.encode(message(6, 0, 9, 1, Buffer.alloc(0x1000000))), /too large/);
    assert.equal(encoder.encode(message(6, 0, 9, 1, Buffer.alloc(0xffffff))).length > 0xffffff, true);
  });
});

describe('RTMP chunk decoder cost', () => {
  it('joins a large chunk arriving in small pieces once, not once per piece', () => {
    const encoder = new ChunkEncoder();
    const setChunkSize = encoder.encode(controlMessages.setChunkSize(MAX_CHUNK_SIZE));
    encoder.setChunkSize(MAX_CHUNK_SIZE);
    // One chunk of 1 MiB.
    const bytes = Buffer.concat([setChunkSize, encoder.encode(message(6, 0, 9, 1, pseudoRandomBytes(1 << 20, 8)))]);
    // Count the bytes Buffer.concat copies while decoding; re-joining everything pending on each of
    // 16 384 pushes would copy about 8 GiB here.
    const concat = Buffer.concat;
    let copied = 0;
    Buffer.concat = ((list: readonly Uint8Array[], totalLength?: number) => {
      const out = concat(list, totalLength);
      copied += out.length;
      return out;
    }) as typeof Buffer.concat;
    let got: RtmpMessage[];
    try {
      got = decodeAll(bytes, undefined, 64);
    } finally {
      Buffer.concat = concat;
    }
    assert.equal(got.length, 2);
    assert.deepEqual(got[1]!.payload, pseudoRandomBytes(1 << 20, 8));
    assert.ok(copied < 4 * bytes.length, `${copied} bytes copied for ${bytes.length} received`);
  });

  it('holds a message received in 1-byte chunks in about its own size, not an object per chunk', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const encoder = new ChunkEncoder();
    const size = 2 << 20;
    const parts = [encoder.encode(controlMessages.setChunkSize(1))];
    encoder.setChunkSize(1);
    const whole = encoder.encode(message(6, 0, 9, 1, Buffer.alloc(size, 1)));
    const decoder = new ChunkDecoder();
    gc();
    const before = process.memoryUsage();
    decoder.push(parts[0]!);
    // All but the last chunk: 2 MiB of partial message held.
    for (let i = 0; i < whole.length - 2; i += 65536) decoder.push(whole.subarray(i, Math.min(i + 65536, whole.length - 2)));
    gc();
    const after = process.memoryUsage();
    const heapGrowth = after.heapUsed - before.heapUsed;
    const bufferGrowth = after.arrayBuffers - before.arrayBuffers;
    // One Buffer object per 1-byte chunk would take hundreds of MiB of heap.
    assert.ok(heapGrowth < 32 << 20, `heap grew by ${heapGrowth} bytes for ${size} bytes of partial message`);
    assert.ok(bufferGrowth < 3 * size, `buffers grew by ${bufferGrowth} bytes for ${size} bytes of partial message`);
    assert.deepEqual(decoder.push(whole.subarray(whole.length - 2)).length, 1);
  });
});

describe('ChunkDecoder payloads', () => {
  it('gives every message its own bytes, though video-sized payloads share slabs', () => {
    // Sizes below, inside and above the slab range, enough of them to fill several slabs.
    const sizes = [100, 1024, 5000, 20_000, 131_072, 140_000, 3000, 700];
    const sent: RtmpMessage[] = [];
    for (let i = 0; i < 120; i++) {
      const size = sizes[i % sizes.length]!;
      sent.push(message(6, i * 33, MessageType.Video, 1, pseudoRandomBytes(size, i + 1)));
    }
    const encoder = new ChunkEncoder();
    const decoder = new ChunkDecoder(DEFAULT_CHUNK_LIMITS);
    const received = sent.flatMap((m) => decoder.push(encoder.encode(m)));
    assert.equal(received.length, sent.length);
    received.forEach((m, i) => assert.deepEqual(m.payload, sent[i]!.payload, `payload ${i}`));
    // Each payload overwritten with its own mark, in turn: a payload sharing bytes with another
    // would lose its mark to the later write.
    received.forEach((m, i) => m.payload.fill(i + 1));
    received.forEach((m, i) => assert.ok(m.payload.every((b) => b === i + 1), `payload ${i} shares bytes with another`));
  });
});

