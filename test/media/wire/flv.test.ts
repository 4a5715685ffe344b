import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAudioTag, parseVideoTag, FlvTagType, type AvcVideoTag } from '../../../src/media/wire/flv.js';
import { MediaFormatError } from '../../../src/media/wire/format-error.js';
import { ffmpegMissing, makeFlv, readFlvFile, tempDir, type FlvFileTag } from '../support.js';

const bytes = (...values: number[]): Buffer => Buffer.from(values);

function assertFormatError(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof MediaFormatError && err.format === 'flv');
}

describe('FLV video tags', () => {
  it('reads an AVC sequence header', () => {
    const tag = parseVideoTag(bytes(0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x1f));
    assert.equal(tag.kind, 'avc');
    const avc = tag as AvcVideoTag;
    assert.equal(avc.frameType, 'keyframe');
    assert.equal(avc.keyframe, true);
    assert.equal(avc.packetType, 'sequence-header');
    assert.equal(avc.compositionTimeMs, 0);
    assert.deepEqual([...avc.payload], [0x01, 0x64, 0x00, 0x1f]);
  });

  it('reads an inter frame with a positive composition time', () => {
    const tag = parseVideoTag(bytes(0x27, 0x01, 0x00, 0x00, 0x43, 0x00, 0x00, 0x00, 0x02, 0x41, 0x9a)) as AvcVideoTag;
    assert.equal(tag.frameType, 'inter');
    assert.equal(tag.keyframe, false);
    assert.equal(tag.packetType, 'nalu');
    assert.equal(tag.compositionTimeMs, 67);
    assert.deepEqual([...tag.payload], [0x00, 0x00, 0x00, 0x02, 0x41, 0x9a]);
  });

  it('reads the composition time as signed 24-bit', () => {
    assert.equal((parseVideoTag(bytes(0x17, 0x01, 0xff, 0xff, 0xff)) as AvcVideoTag).compositionTimeMs, -1);
    assert.equal((parseVideoTag(bytes(0x17, 0x01, 0x80, 0x00, 0x00)) as AvcVideoTag).compositionTimeMs, -0x800000);
    assert.equal((parseVideoTag(bytes(0x17, 0x01, 0x7f, 0xff, 0xff)) as AvcVideoTag).compositionTimeMs, 0x7fffff);
  });

  it('reads end of sequence and disposable frames', () => {
    const end = parseVideoTag(bytes(0x17, 0x02, 0x00, 0x00, 0x00)) as AvcVideoTag;
    assert.equal(end.packetType, 'end-of-sequence');
    assert.equal(end.payload.length, 0);
    const disposable = parseVideoTag(bytes(0x37, 0x01, 0x00, 0x00, 0x00)) as AvcVideoTag;
    assert.equal(disposable.frameType, 'disposable-inter');
    assert.equal(disposable.keyframe, false);
  });

  it('reads a command frame, which has no AVC packet header', () => {
    const tag = parseVideoTag(bytes(0x57, 0x01));
    assert.deepEqual(tag, { frameType: 'command', keyframe: false, kind: 'command', command: 1 });
  });

  it('reports other classic codecs as unsupported', () => {
    const h263 = parseVideoTag(bytes(0x22, 0x00, 0x84));
    assert.equal(h263.kind, 'unsupported');
    assert.equal(h263.kind === 'unsupported' && h263.codec, 'Sorenson H.263');
    const hevc = parseVideoTag(bytes(0x1c, 0x00, 0x00, 0x00, 0x00));
    assert.equal(hevc.kind, 'unsupported');
  });

  it('reports enhanced-RTMP HEVC and AV1 as unsupported instead of misreading them as AVC', () => {
    // IsExHeader | keyframe | SequenceStart, then the FourCC.
    const hevc = parseVideoTag(Buffer.concat([bytes(0x90), Buffer.from('hvc1'), bytes(0x01, 0x01, 0x60)]));
    assert.deepEqual(hevc, { frameType: 'keyframe', keyframe: true, kind: 'unsupported', codec: 'hvc1' });
    const av1 = parseVideoTag(Buffer.concat([bytes(0xa1), Buffer.from('av01'), bytes(0x12, 0x00)]));
    assert.deepEqual(av1, { frameType: 'inter', keyframe: false, kind: 'unsupported', codec: 'av01' });
    const multitrack = parseVideoTag(bytes(0x96, 0x00, 0x61, 0x76, 0x63, 0x31));
    assert.equal(multitrack.kind, 'unsupported');
  });

  it('reads enhanced-RTMP AVC (avc1) like classic AVC', () => {
    const header = parseVideoTag(Buffer.concat([bytes(0x90), Buffer.from('avc1'), bytes(0x01, 0x64)])) as AvcVideoTag;
    assert.equal(header.kind, 'avc');
    assert.equal(header.packetType, 'sequence-header');
    assert.deepEqual([...header.payload], [0x01, 0x64]);
    const coded = parseVideoTag(Buffer.concat([bytes(0xa1), Buffer.from('avc1'), bytes(0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x01, 0x41)])) as AvcVideoTag;
    assert.equal(coded.packetType, 'nalu');
    assert.equal(coded.compositionTimeMs, -2);
    assert.deepEqual([...coded.payload], [0x00, 0x00, 0x00, 0x01, 0x41]);
    const codedX = parseVideoTag(Buffer.concat([bytes(0xa3), Buffer.from('avc1'), bytes(0x00, 0x00, 0x00, 0x01, 0x41)])) as AvcVideoTag;
    assert.equal(codedX.packetType, 'nalu');
    assert.equal(codedX.compositionTimeMs, 0);
    assert.equal(codedX.payload.length, 5);
  });

  it('raises the typed error for truncated or undefined bodies', () => {
    assertFormatError(() => parseVideoTag(bytes()));
    assertFormatError(() => parseVideoTag(bytes(0x17)));
    assertFormatError(() => parseVideoTag(bytes(0x17, 0x01)));
    assertFormatError(() => parseVideoTag(bytes(0x17, 0x01, 0x00, 0x00)));
    assertFormatError(() => parseVideoTag(bytes(0x57)));
    assertFormatError(() => parseVideoTag(bytes(0x17, 0x03, 0x00, 0x00, 0x00)));
    assertFormatError(() => parseVideoTag(bytes(0x07, 0x01, 0x00, 0x00, 0x00)));
    assertFormatError(() => parseVideoTag(bytes(0x67, 0x01, 0x00, 0x00, 0x00)));
    assertFormatError(() => parseVideoTag(bytes(0x90, 0x61, 0x76)));
    assertFormatError(() => parseVideoTag(Buffer.concat([bytes(0x91), Buffer.from('avc1'), bytes(0x00)])));
  });
});

describe('FLV audio tags', () => {
  it('reads an AAC sequence header and a raw frame', () => {
    assert.deepEqual(parseAudioTag(bytes(0xaf, 0x00, 0x12, 0x10)), { kind: 'aac', packetType: 'sequence-header', payload: bytes(0x12, 0x10) });
    assert.deepEqual(parseAudioTag(bytes(0xaf, 0x01, 0x21, 0x1b)), { kind: 'aac', packetType: 'raw', payload: bytes(0x21, 0x1b) });
  });

  it('reads AAC whatever the rate/size/type bits say (they are fixed for AAC)', () => {
    assert.equal(parseAudioTag(bytes(0xa0, 0x01, 0x00)).kind, 'aac');
  });

  it('reports other sound formats as unsupported', () => {
    assert.deepEqual(parseAudioTag(bytes(0x2f, 0xff, 0xfb)), { kind: 'unsupported', codec: 'MP3' });
    assert.deepEqual(parseAudioTag(bytes(0xb6, 0x00)), { kind: 'unsupported', codec: 'Speex' });
    assert.deepEqual(parseAudioTag(Buffer.concat([bytes(0x90), Buffer.from('Opus'), bytes(0x01)])), { kind: 'unsupported', codec: 'Opus' });
  });

  it('reads enhanced-RTMP AAC (mp4a)', () => {
    assert.deepEqual(parseAudioTag(Buffer.concat([bytes(0x90), Buffer.from('mp4a'), bytes(0x12, 0x10)])), {
      kind: 'aac',
      packetType: 'sequence-header',
      payload: bytes(0x12, 0x10),
    });
    assert.equal((parseAudioTag(Buffer.concat([bytes(0x91), Buffer.from('mp4a'), bytes(0x21)])) as { packetType: string }).packetType, 'raw');
  });

  it('raises the typed error for truncated or undefined bodies', () => {
    assertFormatError(() => parseAudioTag(bytes()));
    assertFormatError(() => parseAudioTag(bytes(0xaf)));
    assertFormatError(() => parseAudioTag(bytes(0xaf, 0x02, 0x00)));
    assertFormatError(() => parseAudioTag(bytes(0x90, 0x6d, 0x70)));
  });
});

describe('FLV tag parsing on garbage', () => {
  it('either parses or raises the typed error, for random bodies of every small length', () => {
    for (let i = 0; i < 20000; i++) {
      const body = randomBytes(i % 24);
      for (const parse of [parseVideoTag, parseAudioTag]) {
        try {
          const tag = parse(body);
          // Whatever was parsed is a view inside the body.
          if ('payload' in tag) assert.ok(tag.payload.length <= body.length);
        } catch (err) {
          assert.ok(err instanceof MediaFormatError, `unexpected ${String(err)}`);
        }
      }
    }
  });

  it('accepts a Uint8Array that is not a Buffer, and returns views into it', () => {
    const backing = new Uint8Array([0xff, 0xaf, 0x01, 0x21, 0x1b]);
    const tag = parseAudioTag(backing.subarray(1));
    assert.equal(tag.kind, 'aac');
    assert.deepEqual(tag.kind === 'aac' && [...tag.payload], [0x21, 0x1b]);
  });
});

describe('FLV tags written by ffmpeg', { skip: ffmpegMissing }, () => {
  let tags: FlvFileTag[] = [];
  const dir = tempDir('flv');
  before(() => {
    const file = join(dir.path, 'av.flv');
    makeFlv(file, 'av', 2);
    tags = readFlvFile(readFileSync(file));
  });
  after(() => dir.remove());

  it('parses every audio and video tag as AVC and AAC, headers first, keyframes each second', () => {
    const video = tags.filter((t) => t.type === FlvTagType.Video).map((t) => ({ t: t.timestamp, tag: parseVideoTag(t.body) }));
    const audio = tags.filter((t) => t.type === FlvTagType.Audio).map((t) => parseAudioTag(t.body));
    assert.ok(video.every((v) => v.tag.kind === 'avc'));
    assert.ok(audio.every((a) => a.kind === 'aac'));
    const first = video[0]!.tag as AvcVideoTag;
    assert.equal(first.packetType, 'sequence-header');
    assert.equal(audio[0]!.kind === 'aac' && audio[0]!.packetType, 'sequence-header');
    const frames = video.slice(1).filter((v) => (v.tag as AvcVideoTag).packetType === 'nalu');
    assert.equal(frames.length, 60);
    assert.deepEqual(
      frames.filter((v) => v.tag.keyframe).map((v) => v.t),
      [0, 1000],
    );
    // x264's default B-frames give frames a positive composition offset.
    assert.ok(frames.some((v) => (v.tag as AvcVideoTag).compositionTimeMs > 0));
  });
});
