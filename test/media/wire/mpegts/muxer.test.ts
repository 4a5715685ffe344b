import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32Mpeg2 } from '../../../../src/media/wire/mpegts/crc.js';
import { TsMuxer, TS_PACKET_SIZE, StreamType } from '../../../../src/media/wire/mpegts/muxer.js';
import { MediaFormatError } from '../../../../src/media/wire/format-error.js';
import { assertContinuity, demuxTs, ffmpeg, ffmpegMissing, SOURCE_ARGS, tempDir } from '../../support.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const packet = (start: string): Buffer => Buffer.concat([hex(start), Buffer.alloc(TS_PACKET_SIZE - hex(start).length, 0xff)]);

/** The PAT and PMT ffmpeg 5.1 writes for one H.264 and one AAC stream (PIDs 0x100 and 0x101, PMT on 0x1000). */
const FFMPEG_PAT = packet('47400010 00 00b00d 0001 c1 00 00 0001 f000 2ab104b2');
const FFMPEG_PMT = packet('47500010 00 02b017 0001 c1 00 00 e100 f000 1be100f000 0fe101f000 2f44b99b');

// x264's parameter sets for 320x240 and stand-in slices (the muxer never looks inside a slice).
const SPS = hex('6764000dacd94141fb0110000003001000000303c0f1429960');
const PPS = hex('68ebe3cb22c0');
const SEI = hex('0605 01 aa 80');
const IDR = hex('65 88 84 00 21 ff');
const SLICE = hex('41 9a 21 6c');
const AUD = hex('00000001 09f0');
const START = hex('00000001');

function annexB(...nalus: Buffer[]): Buffer {
  return Buffer.concat(nalus.flatMap((n) => [START, n]));
}

function muxer(video = true, audio = true): TsMuxer {
  const m = new TsMuxer({ video, audio });
  m.setParameterSets([SPS], [PPS]);
  return m;
}

describe('CRC-32/MPEG-2', () => {
  it('matches the catalogue check value and the CRC ffmpeg writes in its PAT', () => {
    assert.equal(crc32Mpeg2(Buffer.from('123456789')), 0x0376e6e7);
    assert.equal(crc32Mpeg2(hex('00b00d0001c100000001f000')), 0x2ab104b2);
    assert.equal(crc32Mpeg2(hex('02b0170001c10000e100f0001be100f0000fe101f000')), 0x2f44b99b);
    // Over a section and its own CRC, the remainder is zero.
    assert.equal(crc32Mpeg2(hex('00b00d0001c100000001f0002ab104b2')), 0);
    assert.equal(crc32Mpeg2(Buffer.alloc(0)), 0xffffffff);
  });
});

describe('PAT and PMT', () => {
  it('are byte for byte what ffmpeg writes for H.264 + AAC', () => {
    const tables = muxer().tables();
    assert.equal(tables.length, 2 * TS_PACKET_SIZE);
    assert.deepEqual(tables.subarray(0, 188), FFMPEG_PAT);
    assert.deepEqual(tables.subarray(188), FFMPEG_PMT);
  });

  it('list only the video stream, with the PCR on it, for video only', () => {
    const ts = demuxTs(muxer(true, false).tables());
    assert.deepEqual(ts.pat, [{ programNumber: 1, pmtPid: 0x1000 }]);
    assert.deepEqual(ts.pmt, [{ pcrPid: 0x100, version: 0, streams: [{ type: StreamType.H264, pid: 0x100 }] }]);
  });

  it('list only the audio stream, with the PCR on it, for audio only', () => {
    const ts = demuxTs(muxer(false, true).tables());
    assert.deepEqual(ts.pmt, [{ pcrPid: 0x101, version: 0, streams: [{ type: StreamType.Aac, pid: 0x101 }] }]);
  });

  it('change version when the streams change after a PMT was written, and only then', () => {
    const m = muxer(false, false);
    m.setTracks({ video: true, audio: false });
    assert.equal(demuxTs(m.tables()).pmt[0]!.version, 0);
    m.setTracks({ video: true, audio: false });
    assert.equal(demuxTs(m.tables()).pmt[0]!.version, 0);
    m.setTracks({ video: true, audio: true });
    const pmt = demuxTs(m.tables()).pmt[0]!;
    assert.equal(pmt.version, 1);
    assert.equal(pmt.streams.length, 2);
  });

  it('advance their continuity counters each time they are written', () => {
    const m = muxer();
    const ts = demuxTs(Buffer.concat(Array.from({ length: 20 }, () => m.tables())));
    assert.deepEqual(ts.continuity.get(0), [...Array.from({ length: 16 }, (_, i) => i), 0, 1, 2, 3]);
    assertContinuity(ts.continuity);
  });
});

describe('video PES', () => {
  it('puts an access unit delimiter first and the parameter sets before an IDR', () => {
    const ts = demuxTs(muxer().video({ dts: 200_000, pts: 206_000, keyframe: true, nalus: [SEI, IDR] }));
    assert.equal(ts.pes.length, 1);
    const pes = ts.pes[0]!;
    assert.equal(pes.pid, 0x100);
    assert.equal(pes.streamId, 0xe0);
    assert.equal(pes.declaredLength, 0, 'video PES length is left unbounded');
    assert.equal(pes.dataAlignment, true);
    assert.deepEqual(pes.payload, Buffer.concat([AUD, annexB(SPS, PPS, SEI, IDR)]));
    assert.equal(pes.pts, 206_000);
    assert.equal(pes.dts, 200_000);
    assert.equal(pes.randomAccess, true);
    assert.equal(pes.pcr, 200_000 - 63_000, 'the PCR runs 0.7 s behind the DTS');
  });

  it('writes inter frames without parameter sets or random access, and PTS alone when it equals DTS', () => {
    const pes = demuxTs(muxer().video({ dts: 300_000, pts: 300_000, keyframe: false, nalus: [SLICE] })).pes[0]!;
    assert.deepEqual(pes.payload, Buffer.concat([AUD, annexB(SLICE)]));
    assert.equal(pes.randomAccess, false);
    assert.equal(pes.dts, undefined);
    assert.equal(pes.pts, 300_000);
    assert.ok(pes.pcr !== undefined);
  });

  it('keeps the parameter sets an access unit carries, and drops its own delimiters', () => {
    const nalus = [hex('0910'), SPS, PPS, IDR];
    const pes = demuxTs(muxer().video({ dts: 200_000, pts: 200_000, keyframe: true, nalus })).pes[0]!;
    assert.deepEqual(pes.payload, Buffer.concat([AUD, annexB(SPS, PPS, IDR)]));
  });

  it('inserts the parameter sets on an IDR the publisher did not mark, and on a marked keyframe without IDR', () => {
    const m = muxer();
    const unmarked = demuxTs(m.video({ dts: 200_000, pts: 200_000, keyframe: false, nalus: [IDR] })).pes[0]!;
    assert.deepEqual(unmarked.payload, Buffer.concat([AUD, annexB(SPS, PPS, IDR)]));
    assert.equal(unmarked.randomAccess, true);
    const recovery = demuxTs(m.video({ dts: 203_000, pts: 203_000, keyframe: true, nalus: [SEI, SLICE] })).pes[0]!;
    assert.deepEqual(recovery.payload, Buffer.concat([AUD, annexB(SPS, PPS, SEI, SLICE)]));
  });

  it('carries the PCR on the video PID only when there is video', () => {
    const m = muxer(true, true);
    const ts = demuxTs(Buffer.concat([m.video({ dts: 200_000, pts: 200_000, keyframe: true, nalus: [IDR] }), m.audio({ pts: 200_000, adts: hex('fff1508000ff') })]));
    assert.ok(ts.pes.find((p) => p.pid === 0x100)!.pcr !== undefined);
    assert.equal(ts.pes.find((p) => p.pid === 0x101)!.pcr, undefined);
  });

  it('writes timestamps modulo 2^33', () => {
    const pes = demuxTs(muxer().video({ dts: 2 ** 33 + 100_000, pts: 2 ** 33 + 103_000, keyframe: true, nalus: [IDR] })).pes[0]!;
    assert.equal(pes.dts, 100_000);
    assert.equal(pes.pts, 103_000);
    assert.equal(pes.pcr, 100_000 - 63_000);
  });

  it('refuses video for a program without a video stream', () => {
    assert.throws(() => muxer(false, true).video({ dts: 0, pts: 0, keyframe: true, nalus: [IDR] }), MediaFormatError);
  });
});

describe('packetization', () => {
  it('fills every packet and pads the last one with stuffing, for every PES size around the boundaries', () => {
    const m = muxer();
    const counters = new Map<number, number[]>();
    for (let size = 1; size <= 700; size++) {
      const slice = Buffer.alloc(size, 0x5a);
      slice[0] = 0x41;
      const keyframe = size % 3 === 0;
      const out = m.video({ dts: 200_000 + size, pts: 200_000 + size, keyframe, nalus: [slice] });
      const ts = demuxTs(out);
      const pes = ts.pes[0]!;
      const expected = Buffer.concat(keyframe ? [AUD, annexB(SPS, PPS, slice)] : [AUD, annexB(slice)]);
      assert.deepEqual(pes.payload, expected, `video size ${size}`);
      // The fewest packets that hold the PES header (PTS only: 14 bytes) and the first packet's adaptation field.
      const firstAdaptation = 2 + 6; // length and flags, PCR
      assert.equal(pes.packets, Math.ceil((14 + expected.length + firstAdaptation) / 184), `packets for size ${size}`);
      for (const [pid, cc] of ts.continuity) counters.set(pid, [...(counters.get(pid) ?? []), ...cc]);
    }
    assertContinuity(counters);
  });

  it('sets the PES length of audio and carries the PCR on audio when there is no video', () => {
    const m = muxer(false, true);
    for (let size = 7; size <= 500; size++) {
      const adts = Buffer.alloc(size, 0x11);
      const ts = demuxTs(m.audio({ pts: 150_000 + size, adts }));
      const pes = ts.pes[0]!;
      assert.equal(pes.streamId, 0xc0);
      assert.equal(pes.declaredLength, 3 + 5 + size);
      assert.deepEqual(pes.payload, adts);
      assert.equal(pes.pts, 150_000 + size);
      assert.equal(pes.dts, undefined);
      assert.equal(pes.randomAccess, true);
      assert.equal(pes.pcr, 150_000 + size - 63_000);
    }
  });

  it('continues each PID’s continuity counter across calls, wrapping at 16', () => {
    const m = muxer();
    const out = Buffer.concat([
      m.tables(),
      ...Array.from({ length: 40 }, (_, i) => m.video({ dts: 200_000 + i * 3000, pts: 200_000 + i * 3000, keyframe: i === 0, nalus: [Buffer.alloc(400, 0x41)] })),
      ...Array.from({ length: 40 }, (_, i) => m.audio({ pts: 200_000 + i * 2090, adts: Buffer.alloc(300, 0x11) })),
    ]);
    const ts = demuxTs(out);
    assertContinuity(ts.continuity, new Map([[0x100, 0], [0x101, 0], [0, 0], [0x1000, 0]]));
    assert.ok(ts.continuity.get(0x100)!.length > 16);
  });
});

describe('MPEG-TS tables compared with ffmpeg', { skip: ffmpegMissing }, () => {
  const dir = tempDir('mpegts');
  after(() => dir.remove());

  it('writes the PAT and PMT that ffmpeg writes for H.264 + AAC', () => {
    const file = join(dir.path, 'ffmpeg.ts');
    ffmpeg([...SOURCE_ARGS.video, ...SOURCE_ARGS.audio, '-t', '0.2', ...SOURCE_ARGS.videoCodec, ...SOURCE_ARGS.audioCodec, '-f', 'mpegts', file]);
    const theirs = readFileSync(file);
    const packets = Array.from({ length: theirs.length / 188 }, (_, i) => theirs.subarray(i * 188, i * 188 + 188));
    const pat = packets.find((p) => ((p[1]! & 0x1f) << 8 | p[2]!) === 0)!;
    const pmt = packets.find((p) => ((p[1]! & 0x1f) << 8 | p[2]!) === 0x1000)!;
    const ours = muxer().tables();
    assert.deepEqual(ours.subarray(0, 188), pat);
    assert.deepEqual(ours.subarray(188), pmt);
  });
});
