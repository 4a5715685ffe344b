import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LiveStream } from '../../../src/media/live/live-stream.js';
import { Amf0EcmaArray, encodeAmf0 } from '../../../src/media/wire/amf0.js';
import { MessageType, type RtmpMessage } from '../../../src/media/wire/rtmp/messages.js';
import type { RtmpViewer } from '../../../src/media/rtmp/connection.js';
import { ChunkDecoder, ChunkEncoder } from '../../../src/media/wire/rtmp/chunks.js';

/** FLV tag bodies written by hand (FLV spec, E.4.2 and E.4.3). */
const tags = {
  /** 0x17: keyframe + AVC; AVCPacketType 0; composition time 0; an AVCDecoderConfigurationRecord. */
  avcSequenceHeader: (profile = 0x64): number[] => [0x17, 0x00, 0x00, 0x00, 0x00, 0x01, profile, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x00, 0x01, 0x00, 0x00],
  /** A keyframe NAL unit (IDR), length-prefixed. */
  keyframe: (n: number, size = 0): number[] => [0x17, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x65, n, ...Array<number>(size).fill(n)],
  /** 0x27: inter frame + AVC, composition time 0x21. */
  inter: (n: number, size = 0): number[] => [0x27, 0x01, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x02, 0x41, n, ...Array<number>(size).fill(n)],
  /** 0xAF: AAC, 44.1 kHz, 16-bit, stereo; AACPacketType 0; an AudioSpecificConfig. */
  aacSequenceHeader: (): number[] => [0xaf, 0x00, 0x12, 0x10],
  aacRaw: (n: number, size = 0): number[] => [0xaf, 0x01, 0x21, n, ...Array<number>(size).fill(n)],
};

let clock = 0;
function video(body: number[]): RtmpMessage {
  return { chunkStreamId: 6, timestamp: (clock += 33), type: MessageType.Video, streamId: 1, payload: Buffer.from(body) };
}
function audio(body: number[]): RtmpMessage {
  return { chunkStreamId: 4, timestamp: (clock += 21), type: MessageType.Audio, streamId: 1, payload: Buffer.from(body) };
}
function metadata(width: number): RtmpMessage {
  return {
    chunkStreamId: 5,
    timestamp: 0,
    type: MessageType.DataAmf0,
    streamId: 1,
    payload: encodeAmf0('@setDataFrame', 'onMetaData', new Amf0EcmaArray({ width, height: 720 })),
  };
}

class TestViewer implements RtmpViewer {
  readonly received: RtmpMessage[] = [];
  readonly batches: number[] = [];
  readonly closes: string[] = [];
  /** Accepts this many more messages, then reports itself dropped (a batch it cannot take whole included). */
  constructor(private capacity = Infinity) {}
  send(batch: readonly RtmpMessage[]): boolean {
    if (this.capacity < batch.length) return false;
    this.capacity -= batch.length;
    this.received.push(...batch);
    this.batches.push(batch.length);
    return true;
  }
  close(reason: string): void {
    this.closes.push(reason);
  }
}

describe('LiveStream', () => {
  it('starts a viewer added mid-stream with metadata, AVC and AAC headers, the GOP from the latest keyframe, then live', () => {
    const live = new LiveStream();
    const early = new TestViewer();
    live.addViewer(early);
    const outputSeen: RtmpMessage[] = [];
    live.addOutput({ onMessage: (m) => outputSeen.push(m) });

    const meta = metadata(1280);
    const avc = video(tags.avcSequenceHeader());
    const aac = audio(tags.aacSequenceHeader());
    const k1 = video(tags.keyframe(1));
    const i1 = video(tags.inter(2));
    const a1 = audio(tags.aacRaw(3));
    const k2 = video(tags.keyframe(4));
    const a2 = audio(tags.aacRaw(5));
    const i2 = video(tags.inter(6));
    const all = [meta, avc, aac, k1, i1, a1, k2, a2, i2];
    for (const m of all) live.publish(m);

    const late = new TestViewer();
    live.addViewer(late);
    assert.deepEqual(late.received, [meta, avc, aac, k2, a2, i2]);

    const i3 = video(tags.inter(7));
    const a3 = audio(tags.aacRaw(8));
    live.publish(i3);
    live.publish(a3);
    assert.deepEqual(late.received, [meta, avc, aac, k2, a2, i2, i3, a3]);
    // The viewer that was there from the start got everything, in order, once.
    assert.deepEqual(early.received, [...all, i3, a3]);
    assert.deepEqual(outputSeen, [...all, i3, a3]);
    assert.equal(live.viewerCount, 2);
    assert.equal(live.malformed, 0);
  });

  it('sends a newcomer the latest metadata and codec headers when they change', () => {
    const live = new LiveStream();
    const avcOld = video(tags.avcSequenceHeader(0x42));
    const avcNew = video(tags.avcSequenceHeader(0x64));
    const aac = audio(tags.aacSequenceHeader());
    const metaNew = metadata(1920);
    for (const m of [metadata(640), avcOld, aac, video(tags.keyframe(1)), metaNew, avcNew]) live.publish(m);
    const k = video(tags.keyframe(2));
    live.publish(k);
    const viewer = new TestViewer();
    live.addViewer(viewer);
    assert.deepEqual(viewer.received, [metaNew, avcNew, aac, k]);
  });

  it('gives a newcomer nothing but headers before the first keyframe of a video stream', () => {
    const live = new LiveStream();
    const avc = video(tags.avcSequenceHeader());
    const aac = audio(tags.aacSequenceHeader());
    for (const m of [avc, aac, video(tags.inter(1)), audio(tags.aacRaw(2)), video(tags.inter(3))]) live.publish(m);
    const viewer = new TestViewer();
    live.addViewer(viewer);
    assert.deepEqual(viewer.received, [avc, aac]);
  });

  it('bounds a GOP without keyframes by maxGopBytes, for video and for audio-only streams', () => {
    const maxGopBytes = 2000;
    const gopBytes = (viewer: TestViewer): number =>
      viewer.received.filter((m) => m.payload.length > 100).reduce((sum, m) => sum + m.payload.length, 0);

    const live = new LiveStream(maxGopBytes);
    const everyone = new TestViewer();
    live.addViewer(everyone);
    live.publish(video(tags.avcSequenceHeader()));
    live.publish(video(tags.keyframe(1, 300)));
    let cachedMost = 0;
    for (let i = 0; i < 60; i++) {
      live.publish(video(tags.inter(i, 300)));
      const newcomer = new TestViewer();
      live.addViewer(newcomer).stop();
      const cached = gopBytes(newcomer);
      assert.ok(cached <= maxGopBytes, `after ${i + 1} inter frames a newcomer got ${cached} bytes of GOP`);
      cachedMost = Math.max(cachedMost, cached);
    }
    // The cache did hold a GOP before the bound was reached, and live delivery never stopped.
    assert.ok(cachedMost > 1000, `the GOP cache held at most ${cachedMost} bytes`);
    assert.equal(everyone.received.length, 62);

    const audioOnly = new LiveStream(maxGopBytes);
    audioOnly.publish(audio(tags.aacSequenceHeader()));
    let audioMost = 0;
    for (let i = 0; i < 60; i++) {
      audioOnly.publish(audio(tags.aacRaw(i, 250)));
      const newcomer = new TestViewer();
      audioOnly.addViewer(newcomer).stop();
      const cached = gopBytes(newcomer);
      assert.ok(cached <= maxGopBytes, `audio-only: a newcomer got ${cached} bytes`);
      audioMost = Math.max(audioMost, cached);
    }
    assert.ok(audioMost > 1000, `audio-only: the cache held at most ${audioMost} bytes`);
  });

  it('counts malformed tags and forwards them to no one, while unsupported codecs pass through', () => {
    const live = new LiveStream();
    const viewer = new TestViewer();
    live.addViewer(viewer);
    const outputSeen: RtmpMessage[] = [];
    live.addOutput({ onMessage: (m) => outputSeen.push(m) });
    const good = [video(tags.avcSequenceHeader()), video(tags.keyframe(1))];
    for (const m of good) live.publish(m);

    const malformed = [
      video([]),
      video([0x17, 0x01, 0x00]), // AVC header cut short
      video([0x07, 0x01, 0x00, 0x00, 0x00]), // frame type 0 is not defined
      video([0x17, 0x07, 0x00, 0x00, 0x00]), // AVCPacketType 7 is not defined
      audio([]),
      audio([0xaf]), // AAC without its packet type
      audio([0xaf, 0x02, 0x00]), // AACPacketType 2 is not defined
    ];
    for (const m of malformed) live.publish(m);
    assert.equal(live.malformed, malformed.length);

    // H.263 video and MP3 audio are not malformed, only not packaged.
    const unsupported = [video([0x22, 0x00, 0x01]), audio([0x2f, 0xff, 0xfb])];
    for (const m of unsupported) live.publish(m);
    assert.equal(live.malformed, malformed.length);
    assert.deepEqual(viewer.received, [...good, ...unsupported]);
    assert.deepEqual(outputSeen, [...good, ...unsupported]);

    // Nor are they cached for a newcomer.
    const newcomer = new TestViewer();
    live.addViewer(newcomer);
    for (const m of newcomer.received) assert.ok(!malformed.includes(m));
  });

  it('drops a viewer that reports it can take no more, live or while catching up', () => {
    const live = new LiveStream();
    for (const m of [video(tags.avcSequenceHeader()), video(tags.keyframe(1)), video(tags.inter(2))]) live.publish(m);
    // Dropped during the catch-up burst: never added.
    const tiny = new TestViewer(2);
    live.addViewer(tiny);
    assert.equal(live.viewerCount, 0);
    // Dropped live: removed, and sent nothing more.
    const slow = new TestViewer(4);
    live.addViewer(slow);
    assert.equal(live.viewerCount, 1);
    live.publish(video(tags.inter(3)));
    live.publish(video(tags.inter(4)));
    assert.equal(live.viewerCount, 0);
    live.publish(video(tags.inter(5)));
    assert.equal(slow.received.length, 4);
  });

  it('stops sending to a viewer whose subscription is stopped', () => {
    const live = new LiveStream();
    const viewer = new TestViewer();
    const subscription = live.addViewer(viewer);
    live.publish(video(tags.avcSequenceHeader()));
    subscription.stop();
    live.publish(video(tags.keyframe(1)));
    assert.equal(viewer.received.length, 1);
    assert.equal(live.viewerCount, 0);
  });

  it('end() closes every viewer once with the reason and forgets viewers and outputs', () => {
    const live = new LiveStream();
    const a = new TestViewer();
    const b = new TestViewer();
    live.addViewer(a);
    live.addViewer(b);
    let outputMessages = 0;
    live.addOutput({ onMessage: () => outputMessages++ });
    live.publish(video(tags.avcSequenceHeader()));
    live.end('publisher left');
    assert.deepEqual(a.closes, ['publisher left']);
    assert.deepEqual(b.closes, ['publisher left']);
    assert.equal(live.viewerCount, 0);
    live.publish(video(tags.keyframe(1)));
    live.end('again');
    assert.equal(a.received.length, 1);
    assert.equal(outputMessages, 1);
    assert.deepEqual(a.closes, ['publisher left']);
  });

  it('with a batch interval, writes what came meanwhile as one batch, in order, and a newcomer gets each message once', async () => {
    const live = new LiveStream(undefined, 30);
    const early = new TestViewer();
    live.addViewer(early);
    const outputSeen: RtmpMessage[] = [];
    live.addOutput({ onMessage: (m) => outputSeen.push(m) });
    const first = [video(tags.avcSequenceHeader()), audio(tags.aacSequenceHeader()), video(tags.keyframe(1)), audio(tags.aacRaw(2))];
    for (const m of first) live.publish(m);
    // Outputs (the HLS packager) are not held back; viewers wait for the batch.
    assert.deepEqual(outputSeen, first);
    assert.deepEqual(early.received, []);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(early.received, first);
    assert.deepEqual(early.batches, [4]);

    const i1 = video(tags.inter(3));
    live.publish(i1);
    // A newcomer flushes what waits to the others first, then starts from the GOP, which has it.
    const late = new TestViewer();
    live.addViewer(late);
    assert.deepEqual(early.received, [...first, i1]);
    assert.deepEqual(late.received, [first[0], first[1], first[2], first[3], i1]);
    const a2 = audio(tags.aacRaw(4));
    live.publish(a2);
    // The end of the stream does not lose what waits.
    live.end('publisher left');
    assert.deepEqual(late.received.at(-1), a2);
    assert.deepEqual(early.received.at(-1), a2);
    assert.deepEqual(early.closes, ['publisher left']);
  });

  it('writes a batch at once when it reaches its byte bound, without waiting for the interval', () => {
    const live = new LiveStream(undefined, 60_000);
    const viewer = new TestViewer();
    live.addViewer(viewer);
    live.publish(video(tags.avcSequenceHeader()));
    for (let i = 0; i < 40; i++) live.publish(video(i === 0 ? tags.keyframe(i, 10_000) : tags.inter(i, 10_000)));
    assert.ok(viewer.received.length > 0, 'a large batch went out before the interval');
    assert.ok(viewer.batches.every((n) => n > 1));
    live.end('done');
    assert.equal(viewer.received.length, 41);
  });

  it('starts over after resetForNewPublisher: no stale headers or GOP for a newcomer', () => {
    const live = new LiveStream();
    for (const m of [metadata(640), video(tags.avcSequenceHeader()), audio(tags.aacSequenceHeader()), video(tags.keyframe(1))]) live.publish(m);
    live.resetForNewPublisher();
    const viewer = new TestViewer();
    live.addViewer(viewer);
    assert.deepEqual(viewer.received, []);
  });
});

/**
 * A publisher's messages through the chunk decoder, its payloads from the decoder's arena (as an
 * RTMP publisher's are), each read in pieces of `readBytes` as a socket would deliver them.
 */
class ArenaPublisher {
  readonly decoder = new ChunkDecoder();
  private readonly encoder = new ChunkEncoder();
  constructor(
    private readonly live: LiveStream,
    private readonly readBytes = 1500,
  ) {
    this.decoder.useArena();
    live.usePayloads(this.decoder);
  }

  /** Sends `messages` chunked as an encoder would, interleaved across their chunk streams as given. */
  send(...messages: RtmpMessage[]): void {
    this.feed(Buffer.concat(messages.map((m) => this.encoder.encode(m))));
  }

  feed(bytes: Buffer): void {
    for (let p = 0; p < bytes.length; p += this.readBytes) {
      for (const message of this.decoder.push(bytes.subarray(p, p + this.readBytes))) this.live.publish(message);
    }
  }
}

/** A viewer that copies what it is sent, as a real one does before its call returns. */
class CopyingViewer implements RtmpViewer {
  readonly received: Buffer[] = [];
  send(batch: readonly RtmpMessage[]): boolean {
    for (const m of batch) this.received.push(Buffer.from(m.payload));
    return true;
  }
  close(): void {}
}

describe('LiveStream with a publisher whose payload memory is reused', () => {
  it('reuses it GOP after GOP while what a newcomer is sent and what outputs see stay intact', () => {
    const live = new LiveStream();
    const publisher = new ArenaPublisher(live);
    const seen: string[] = [];
    live.addOutput({ onMessage: (m) => seen.push(m.payload.toString('hex')) });
    const expected: Buffer[] = [];
    const publish = (m: RtmpMessage): void => {
      expected.push(Buffer.from(m.payload));
      publisher.send(m);
    };
    publish(metadata(1280));
    publish(video(tags.avcSequenceHeader()));
    publish(audio(tags.aacSequenceHeader()));
    const headers = expected.slice();
    let total = 0;
    for (let gop = 0; gop < 40; gop++) {
      const gopStart = expected.length;
      publish(video(tags.keyframe(gop, 30_000)));
      for (let f = 1; f < 30; f++) {
        publish(video(tags.inter((gop + f) & 0xff, 6_000 + f)));
        publish(audio(tags.aacRaw(f, 300)));
      }
      total += expected.slice(gopStart).reduce((n, b) => n + b.length, 0);
      // A newcomer now: the headers, then this GOP, byte for byte.
      const viewer = new CopyingViewer();
      live.addViewer(viewer).stop();
      assert.deepEqual(viewer.received.map((b) => b.toString('hex')), [...headers, ...expected.slice(gopStart)].map((b) => b.toString('hex')), `GOP ${gop}`);
    }
    assert.deepEqual(seen, expected.map((b) => b.toString('hex')), 'every output saw every payload as it was sent');
    const gopBytes = total / 40;
    assert.ok(publisher.decoder.arenaSize < 3 * gopBytes, `the arena holds ${publisher.decoder.arenaSize} bytes for GOPs of ${gopBytes} (${total} published)`);
  });

  it('keeps the bytes of a message still being received when the GOPs before and after it end', () => {
    const live = new LiveStream();
    const publisher = new ArenaPublisher(live, 4096);
    const encoder = new ChunkEncoder();
    // A large metadata message on its own chunk stream, sent in two halves with whole GOPs between.
    const bigMetadata: RtmpMessage = {
      ...metadata(1920),
      chunkStreamId: 9,
      payload: encodeAmf0('@setDataFrame', 'onMetaData', new Amf0EcmaArray({ width: 1920, comment: 'x'.repeat(2000) })),
    };
    const chunks = encoder.encode(bigMetadata);
    const half = 128 + 12; // the first chunk: header and 128 bytes of body
    publisher.send(video(tags.avcSequenceHeader()));
    publisher.feed(chunks.subarray(0, half));
    for (let gop = 0; gop < 10; gop++) {
      publisher.send(video(tags.keyframe(gop, 40_000)));
      for (let f = 1; f < 10; f++) publisher.send(video(tags.inter(f, 20_000)));
    }
    publisher.feed(chunks.subarray(half));
    const viewer = new CopyingViewer();
    live.addViewer(viewer);
    assert.deepEqual(viewer.received[0], bigMetadata.payload, 'the metadata arrived whole and unchanged');
  });

  it('keeps what waits for viewers in a batch across the end of its GOP', () => {
    const live = new LiveStream(undefined, 60_000);
    const publisher = new ArenaPublisher(live);
    const viewer = new CopyingViewer();
    live.addViewer(viewer);
    const expected: string[] = [];
    const publish = (m: RtmpMessage): void => {
      expected.push(m.payload.toString('hex'));
      publisher.send(m);
    };
    publish(video(tags.avcSequenceHeader()));
    // GOPs of ~60 KB: several end while their messages still wait in the batch (written at 256 KiB).
    for (let gop = 0; gop < 12; gop++) {
      publish(video(tags.keyframe(gop, 20_000)));
      for (let f = 1; f < 5; f++) publish(video(tags.inter(gop * 8 + f, 10_000)));
    }
    live.end('done');
    assert.deepEqual(viewer.received.map((b) => b.toString('hex')), expected);
  });
});
