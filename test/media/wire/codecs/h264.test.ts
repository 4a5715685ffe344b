import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  annexB,
  avccToAnnexB,
  nalUnitType,
  NalUnitType,
  parseAvcDecoderConfig,
  parseSps,
  removeEmulationPrevention,
  splitAvcc,
  summarizeAccessUnit,
} from '../../../../src/media/wire/codecs/h264.js';
import { BitReader } from '../../../../src/media/wire/codecs/bit-reader.js';
import { MediaFormatError } from '../../../../src/media/wire/format-error.js';
import { parseVideoTag, FlvTagType, type AvcVideoTag } from '../../../../src/media/wire/flv.js';
import { ffmpeg, ffmpegMissing, ffprobeJson, makeFlv, readFlvFile, tempDir } from '../../support.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function isH264Error(err: unknown): boolean {
  return err instanceof MediaFormatError && err.format === 'h264';
}

/**
 * Parameter sets taken from files libx264 wrote through ffmpeg 5.1, e.g.
 * `ffmpeg -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 1 -c:v libx264 -pix_fmt yuv420p -f h264 a.h264`,
 * with what ffprobe says about each file.
 */
const REAL_SPS = [
  {
    made: '320x240, default preset',
    sps: hex('6764000dacd94141fb0110000003001000000303c0f1429960'),
    pps: hex('68ebe3cb22c0'),
    expect: { width: 320, height: 240, profile: 'High', level: 1.3, codecString: 'avc1.64000d', frameMbsOnly: true, chromaFormatIdc: 1 },
  },
  {
    made: '1920x1080 -preset ultrafast (cropped from 1088 lines)',
    sps: hex('6742c028da01e0089f970110000003001000000303c0f1832a'),
    expect: { width: 1920, height: 1080, profile: 'Constrained Baseline', level: 4, codecString: 'avc1.42c028', frameMbsOnly: true, chromaFormatIdc: 1 },
  },
  {
    made: '176x144 -profile:v baseline',
    sps: hex('6742c00bd902c4ec0440000003004000000f03c50a92'),
    expect: { width: 176, height: 144, profile: 'Constrained Baseline', level: 1.1, codecString: 'avc1.42c00b', frameMbsOnly: true, chromaFormatIdc: 1 },
  },
  {
    made: '1920x1080 -preset veryfast',
    sps: hex('67640028acd940780227e5c044000003000400000300f03c60c658'),
    expect: { width: 1920, height: 1080, profile: 'High', level: 4, codecString: 'avc1.640028', frameMbsOnly: true, chromaFormatIdc: 1 },
  },
  {
    made: '1280x720 -x264opts tff=1 (interlaced)',
    sps: hex('67640020acd940500bbf2e0220000003002000000783e2c5b2c0'),
    expect: { width: 1280, height: 720, profile: 'High', level: 3.2, codecString: 'avc1.640020', frameMbsOnly: false, chromaFormatIdc: 1 },
  },
  {
    made: '640x360 -pix_fmt yuv444p',
    sps: hex('67f4001e919b281405ff138088000003000800000301e078b16cb0'),
    expect: { width: 640, height: 360, profile: 'High 4:4:4 Predictive', level: 3, codecString: 'avc1.f4001e', frameMbsOnly: true, chromaFormatIdc: 3 },
  },
];

describe('Exp-Golomb bit reading', () => {
  it('reads ue(v) and se(v) codes', () => {
    // 1 | 010 | 011 | 00100 | 00111 | 0001000 -> ue 0, 1, 2, 3, 6, 7
    const r = new BitReader(Buffer.from([0b1010_0110, 0b0100_0011, 0b1000_1000]), 'h264', 'test');
    assert.deepEqual([r.ue(), r.ue(), r.ue(), r.ue(), r.ue(), r.ue()], [0, 1, 2, 3, 6, 7]);
    // se: codes 1, 2, 3, 4 are 1, -1, 2, -2
    const s = new BitReader(Buffer.from([0b0100_1100, 0b1000_0101]), 'h264', 'test');
    assert.deepEqual([s.se(), s.se(), s.se(), s.se()], [1, -1, 2, -2]);
  });

  it('raises the typed error when a code runs past the end', () => {
    const r = new BitReader(Buffer.from([0x00]), 'h264', 'test');
    assert.throws(() => r.ue(), isH264Error);
    const long = new BitReader(Buffer.alloc(8), 'h264', 'test');
    assert.throws(() => long.ue(), isH264Error);
  });
});

describe('emulation prevention', () => {
  it('drops the 03 of each 00 00 03 sequence and nothing else', () => {
    assert.deepEqual([...removeEmulationPrevention(hex('000003 01'))], [0, 0, 1]);
    assert.deepEqual([...removeEmulationPrevention(hex('000003 000003'))], [0, 0, 0, 0]);
    assert.deepEqual([...removeEmulationPrevention(hex('0003 000003 03'))], [0, 3, 0, 0, 3]);
    assert.deepEqual([...removeEmulationPrevention(hex('000003'))], [0, 0]);
    assert.deepEqual([...removeEmulationPrevention(hex('67 0300 0003'))], [0x67, 3, 0, 0]);
  });
});

describe('sequence parameter sets written by x264', () => {
  for (const { made, sps, expect } of REAL_SPS) {
    it(`reads ${made}`, () => {
      const info = parseSps(sps);
      for (const [key, value] of Object.entries(expect)) assert.equal(info[key as keyof typeof info], value, key);
      assert.equal(info.bitDepthLuma, 8);
    });
  }

  it('reads the frame rate from the VUI timing info', () => {
    assert.equal(parseSps(REAL_SPS[0]!.sps).frameRate, 30);
  });

  it('raises the typed error for every truncation of a real SPS, and for non-SPS units', () => {
    const sps = REAL_SPS[0]!.sps;
    // The fields up to the picture size end within the first 10 bytes; the VUI may end anywhere after.
    for (let n = 0; n < 10; n++) assert.throws(() => parseSps(sps.subarray(0, n)), isH264Error, `length ${n}`);
    for (let n = 10; n < sps.length; n++) {
      try {
        parseSps(sps.subarray(0, n));
      } catch (err) {
        assert.ok(isH264Error(err), `length ${n}: ${String(err)}`);
      }
    }
    assert.throws(() => parseSps(REAL_SPS[0]!.pps!), isH264Error);
  });

  it('never throws anything but the typed error on random input', () => {
    for (let i = 0; i < 5000; i++) {
      const nal = Buffer.concat([Buffer.from([0x67]), randomBytes(1 + (i % 40))]);
      try {
        const info = parseSps(nal);
        assert.ok(info.width > 0 && info.height > 0);
      } catch (err) {
        assert.ok(isH264Error(err), String(err));
      }
    }
  });
});

/** An AVCDecoderConfigurationRecord as FLV carries it. */
function record(sps: Buffer[], pps: Buffer[], lengthSizeMinusOne = 3): Buffer {
  const parts: Buffer[] = [Buffer.from([1, sps[0]![1]!, sps[0]![2]!, sps[0]![3]!, 0xfc | lengthSizeMinusOne, 0xe0 | sps.length])];
  for (const s of sps) parts.push(Buffer.from([s.length >> 8, s.length & 0xff]), s);
  parts.push(Buffer.from([pps.length]));
  for (const p of pps) parts.push(Buffer.from([p.length >> 8, p.length & 0xff]), p);
  return Buffer.concat(parts);
}

describe('AVC decoder configuration', () => {
  const { sps, pps } = REAL_SPS[0]!;

  it('reads profile, level, NAL unit length size and the parameter sets', () => {
    const config = parseAvcDecoderConfig(record([sps], [pps!]));
    assert.equal(config.profileIdc, 100);
    assert.equal(config.profileCompatibility, 0);
    assert.equal(config.levelIdc, 13);
    assert.equal(config.naluLengthSize, 4);
    assert.deepEqual(config.sps, [sps]);
    assert.deepEqual(config.pps, [pps]);
    assert.equal(parseAvcDecoderConfig(record([sps], [pps!], 1)).naluLengthSize, 2);
    assert.equal(parseAvcDecoderConfig(record([sps], [pps!], 0)).naluLengthSize, 1);
  });

  it('reads several parameter sets and ignores the high-profile extension bytes', () => {
    const other = REAL_SPS[1]!.sps;
    const config = parseAvcDecoderConfig(Buffer.concat([record([sps, other], [pps!, pps!]), Buffer.from([0xfd, 0xf8, 0xf8, 0x00])]));
    assert.deepEqual(config.sps, [sps, other]);
    assert.equal(config.pps.length, 2);
  });

  it('raises the typed error for every truncation and for reserved values', () => {
    const whole = record([sps], [pps!]);
    for (let n = 0; n < whole.length; n++) assert.throws(() => parseAvcDecoderConfig(whole.subarray(0, n)), isH264Error, `length ${n}`);
    assert.throws(() => parseAvcDecoderConfig(record([sps], [pps!], 2)), isH264Error);
    const badVersion = Buffer.from(whole);
    badVersion[0] = 0;
    assert.throws(() => parseAvcDecoderConfig(badVersion), isH264Error);
  });
});

describe('AVCC to Annex B', () => {
  const idr = hex('65 88 84 00 21');
  const sei = hex('06 05 01 aa 80');

  it('replaces each length prefix with a 4-byte start code', () => {
    const avcc = Buffer.concat([hex('00000005'), sei, hex('00000005'), idr]);
    assert.deepEqual(avccToAnnexB(avcc, 4), Buffer.concat([hex('00000001'), sei, hex('00000001'), idr]));
  });

  it('handles 1- and 2-byte length prefixes and skips empty NAL units', () => {
    assert.deepEqual(splitAvcc(Buffer.concat([hex('0005'), idr, hex('0000'), hex('0005'), sei]), 2), [idr, sei]);
    assert.deepEqual(splitAvcc(Buffer.concat([hex('05'), idr]), 1), [idr]);
    assert.deepEqual(splitAvcc(Buffer.alloc(0), 4), []);
    assert.deepEqual(annexB([]), Buffer.alloc(0));
  });

  it('raises the typed error when a length prefix or NAL unit runs past the end', () => {
    assert.throws(() => splitAvcc(hex('000000'), 4), isH264Error);
    assert.throws(() => splitAvcc(Buffer.concat([hex('00000006'), idr]), 4), isH264Error);
    assert.throws(() => splitAvcc(Buffer.concat([hex('00000005'), idr, hex('00')]), 4), isH264Error);
  });

  it('says what an access unit holds', () => {
    assert.equal(nalUnitType(idr), NalUnitType.IdrSlice);
    assert.deepEqual(summarizeAccessUnit([hex('0910'), REAL_SPS[0]!.sps, REAL_SPS[0]!.pps!, sei, idr]), { idr: true, sps: true, pps: true, accessUnitDelimiter: true });
    assert.deepEqual(summarizeAccessUnit([hex('419a')]), { idr: false, sps: false, pps: false, accessUnitDelimiter: false });
    assert.throws(() => nalUnitType(Buffer.alloc(0)), isH264Error);
  });
});

describe('H.264 from an FLV written by ffmpeg', { skip: ffmpegMissing }, () => {
  const dir = tempDir('h264');
  let video: AvcVideoTag[] = [];
  before(() => {
    const flv = join(dir.path, 'video.flv');
    makeFlv(flv, 'video', 2);
    video = readFlvFile(readFileSync(flv))
      .filter((t) => t.type === FlvTagType.Video)
      .map((t) => parseVideoTag(t.body) as AvcVideoTag);
  });
  after(() => dir.remove());

  it('reads the same size, profile and level from the SPS as ffprobe does', () => {
    const config = parseAvcDecoderConfig(video[0]!.payload);
    const info = parseSps(config.sps[0]!);
    const probed = ffprobeJson(['-show_entries', 'stream=width,height,profile,level', join(dir.path, 'video.flv')]).streams[0];
    assert.deepEqual(
      { width: info.width, height: info.height, profile: info.profile, level: info.levelIdc },
      { width: probed.width, height: probed.height, profile: probed.profile, level: probed.level },
    );
  });

  it('turns the AVCC frames into an Annex B stream that decodes without errors', () => {
    const config = parseAvcDecoderConfig(video[0]!.payload);
    const frames = video.filter((t) => t.packetType === 'nalu');
    const stream = Buffer.concat([
      annexB([...config.sps, ...config.pps]),
      ...frames.map((t) => avccToAnnexB(t.payload, config.naluLengthSize)),
    ]);
    const file = join(dir.path, 'video.h264');
    writeFileSync(file, stream);
    const probed = ffprobeJson(['-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames,width,height', file]).streams[0];
    assert.deepEqual(probed, { codec_name: 'h264', width: 320, height: 240, nb_read_frames: '60' });
    // Decoding the whole stream reports nothing.
    ffmpeg(['-i', file, '-f', 'null', '-']);
  });

  it('finds an IDR in exactly the frames FLV marks as keyframes', () => {
    const config = parseAvcDecoderConfig(video[0]!.payload);
    for (const tag of video.filter((t) => t.packetType === 'nalu')) {
      assert.equal(summarizeAccessUnit(splitAvcc(tag.payload, config.naluLengthSize)).idr, tag.keyframe);
    }
  });
});
