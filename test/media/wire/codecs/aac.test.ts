import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ADTS_HEADER_SIZE,
  adtsFrame,
  adtsHeader,
  frameDurationSeconds,
  parseAudioSpecificConfig,
  type AudioSpecificConfig,
} from '../../../../src/media/wire/codecs/aac.js';
import { MediaFormatError } from '../../../../src/media/wire/format-error.js';
import { parseAudioTag, FlvTagType } from '../../../../src/media/wire/flv.js';
import { ffmpeg, ffmpegMissing, ffprobeJson, readFlvFile, SOURCE_ARGS, tempDir } from '../../support.js';

function isAacError(err: unknown): boolean {
  return err instanceof MediaFormatError && err.format === 'aac';
}

/** Packs [value, bit count] fields most significant bit first, padding the last byte with zeros. */
function pack(fields: [number, number][]): Buffer {
  let bits = '';
  for (const [value, count] of fields) bits += value.toString(2).padStart(count, '0');
  bits = bits.padEnd(Math.ceil(bits.length / 8) * 8, '0');
  return Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
}

/** The fields of an ADTS header, read back bit by bit. */
function readAdts(h: Buffer) {
  const bits = [...h].map((b) => b.toString(2).padStart(8, '0')).join('');
  const field = (from: number, count: number): number => parseInt(bits.slice(from, from + count), 2);
  return {
    syncword: field(0, 12),
    id: field(12, 1),
    layer: field(13, 2),
    protectionAbsent: field(15, 1),
    profile: field(16, 2),
    samplingFrequencyIndex: field(18, 4),
    privateBit: field(22, 1),
    channelConfiguration: field(23, 3),
    frameLength: field(30, 13),
    bufferFullness: field(43, 11),
    rawDataBlocks: field(54, 2),
  };
}

describe('AudioSpecificConfig', () => {
  it('reads AAC LC 44.1 kHz stereo (12 10) and 48 kHz stereo (11 90)', () => {
    assert.deepEqual(parseAudioSpecificConfig(Buffer.from([0x12, 0x10])), {
      objectType: 2,
      samplingFrequencyIndex: 4,
      sampleRate: 44100,
      channelConfiguration: 2,
      samplesPerFrame: 1024,
    });
    const config = parseAudioSpecificConfig(Buffer.from([0x11, 0x90]));
    assert.equal(config.sampleRate, 48000);
    assert.equal(config.channelConfiguration, 2);
  });

  it('reads frameLengthFlag (960-sample frames)', () => {
    const config = parseAudioSpecificConfig(pack([[2, 5], [3, 4], [1, 4], [1, 1], [0, 2]]));
    assert.equal(config.samplesPerFrame, 960);
    assert.equal(frameDurationSeconds(config), 0.02);
  });

  it('reads an explicit 24-bit sampling frequency', () => {
    const config = parseAudioSpecificConfig(pack([[2, 5], [15, 4], [44100, 24], [1, 4], [0, 3]]));
    assert.deepEqual(config, { objectType: 2, samplingFrequencyIndex: 15, sampleRate: 44100, channelConfiguration: 1, samplesPerFrame: 1024 });
    const odd = parseAudioSpecificConfig(pack([[2, 5], [15, 4], [44000, 24], [2, 4], [0, 3]]));
    assert.equal(odd.sampleRate, 44000);
  });

  it('reads the escaped object type (31 + 6 bits)', () => {
    const config = parseAudioSpecificConfig(pack([[31, 5], [42 - 32, 6], [3, 4], [2, 4]]));
    assert.equal(config.objectType, 42);
    assert.equal(config.sampleRate, 48000);
  });

  it('reads explicit HE-AAC signalling: the core is AAC LC at half the output rate', () => {
    const config = parseAudioSpecificConfig(pack([[5, 5], [6, 4], [2, 4], [3, 4], [2, 5], [0, 3]]));
    assert.deepEqual(config, {
      objectType: 2,
      extensionObjectType: 5,
      samplingFrequencyIndex: 6,
      sampleRate: 24000,
      extensionSampleRate: 48000,
      channelConfiguration: 2,
      samplesPerFrame: 1024,
    });
    assert.equal(readAdts(adtsHeader(config, 10)).samplingFrequencyIndex, 6);
    assert.equal(readAdts(adtsHeader(config, 10)).profile, 1);
  });

  it('raises the typed error for truncated, reserved or zero values', () => {
    assert.throws(() => parseAudioSpecificConfig(Buffer.alloc(0)), isAacError);
    assert.throws(() => parseAudioSpecificConfig(Buffer.from([0x12])), isAacError);
    assert.throws(() => parseAudioSpecificConfig(pack([[2, 5], [13, 4], [2, 4]])), isAacError);
    assert.throws(() => parseAudioSpecificConfig(pack([[0, 5], [4, 4], [2, 4]])), isAacError);
    assert.throws(() => parseAudioSpecificConfig(pack([[2, 5], [15, 4], [441, 12]])), isAacError);
    for (let i = 0; i < 5000; i++) {
      try {
        parseAudioSpecificConfig(randomBytes(i % 8));
      } catch (err) {
        assert.ok(isAacError(err), String(err));
      }
    }
  });
});

describe('ADTS headers', () => {
  const lcStereo: AudioSpecificConfig = parseAudioSpecificConfig(Buffer.from([0x12, 0x10]));

  it('writes the known header for a 100-byte AAC LC 44.1 kHz stereo frame', () => {
    const header = adtsHeader(lcStereo, 100);
    assert.equal(header.length, ADTS_HEADER_SIZE);
    assert.equal(header.toString('hex'), 'fff150800d7ffc');
    assert.deepEqual(readAdts(header), {
      syncword: 0xfff,
      id: 0,
      layer: 0,
      protectionAbsent: 1,
      profile: 1,
      samplingFrequencyIndex: 4,
      privateBit: 0,
      channelConfiguration: 2,
      frameLength: 107,
      bufferFullness: 0x7ff,
      rawDataBlocks: 0,
    });
  });

  it('carries the object type, frequency and channel layout of the configuration', () => {
    const main48k6ch = parseAudioSpecificConfig(pack([[1, 5], [3, 4], [6, 4], [0, 3]]));
    const fields = readAdts(adtsHeader(main48k6ch, 8184));
    assert.equal(fields.profile, 0);
    assert.equal(fields.samplingFrequencyIndex, 3);
    assert.equal(fields.channelConfiguration, 6);
    assert.equal(fields.frameLength, 8191);
  });

  it('maps an explicit frequency to its table index, and refuses what ADTS cannot say', () => {
    const explicit = parseAudioSpecificConfig(pack([[2, 5], [15, 4], [22050, 24], [1, 4], [0, 3]]));
    assert.equal(readAdts(adtsHeader(explicit, 1)).samplingFrequencyIndex, 7);
    const odd = parseAudioSpecificConfig(pack([[2, 5], [15, 4], [44000, 24], [2, 4], [0, 3]]));
    assert.throws(() => adtsHeader(odd, 1), isAacError);
    assert.throws(() => adtsHeader(parseAudioSpecificConfig(pack([[31, 5], [10, 6], [3, 4], [2, 4]])), 1), isAacError);
    assert.throws(() => adtsHeader(parseAudioSpecificConfig(pack([[2, 5], [4, 4], [0, 4], [0, 3]])), 1), isAacError);
    assert.throws(() => adtsHeader(lcStereo, 8185), isAacError);
  });

  it('puts the header before the raw frame', () => {
    const frame = adtsFrame(lcStereo, Buffer.from([0x21, 0x1b, 0x80]));
    assert.equal(frame.length, 10);
    assert.equal(readAdts(frame.subarray(0, 7)).frameLength, 10);
    assert.deepEqual([...frame.subarray(7)], [0x21, 0x1b, 0x80]);
  });
});

describe('AAC from ffmpeg', { skip: ffmpegMissing }, () => {
  const dir = tempDir('aac');
  let config: AudioSpecificConfig;
  let raw: Buffer[] = [];
  before(() => {
    const flv = join(dir.path, 'audio.flv');
    ffmpeg([...SOURCE_ARGS.audio, '-t', '1', ...SOURCE_ARGS.audioCodec, '-f', 'flv', flv]);
    ffmpeg([...SOURCE_ARGS.audio, '-t', '1', ...SOURCE_ARGS.audioCodec, '-f', 'adts', join(dir.path, 'reference.aac')]);
    const tags = readFlvFile(readFileSync(flv))
      .filter((t) => t.type === FlvTagType.Audio)
      .map((t) => parseAudioTag(t.body));
    const header = tags[0]!;
    assert.ok(header.kind === 'aac' && header.packetType === 'sequence-header');
    config = parseAudioSpecificConfig(header.payload);
    raw = tags.slice(1).map((t) => (t.kind === 'aac' ? t.payload : Buffer.alloc(0)));
  });
  after(() => dir.remove());

  it('reads the configuration ffmpeg writes: AAC LC, 44.1 kHz, mono', () => {
    assert.equal(config.objectType, 2);
    assert.equal(config.sampleRate, 44100);
    assert.equal(config.channelConfiguration, 1);
  });

  it('builds ADTS frames identical to what ffmpeg writes itself', () => {
    const ours = Buffer.concat(raw.map((frame) => adtsFrame(config, frame)));
    assert.ok(ours.equals(readFileSync(join(dir.path, 'reference.aac'))), 'ADTS stream differs from ffmpeg -f adts');
  });

  it('builds an ADTS stream that decodes without errors', () => {
    const file = join(dir.path, 'ours.aac');
    writeFileSync(file, Buffer.concat(raw.map((frame) => adtsFrame(config, frame))));
    const probed = ffprobeJson(['-count_frames', '-show_entries', 'stream=codec_name,sample_rate,channels,nb_read_frames', file]).streams[0];
    assert.deepEqual(probed, { codec_name: 'aac', sample_rate: '44100', channels: 1, nb_read_frames: String(raw.length) });
    ffmpeg(['-i', file, '-f', 'null', '-']);
  });
});
