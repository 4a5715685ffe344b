/**
 * AAC as carried in FLV/RTMP (an AudioSpecificConfig sequence header, then raw frames) and as
 * MPEG-TS wants it (ADTS: each frame behind a 7-byte header repeating the configuration).
 */
import { MediaFormatError } from '../format-error.js';
import { BitReader } from './bit-reader.js';

/** Sampling frequencies by samplingFrequencyIndex (ISO/IEC 14496-3 table 1.18); 13 and 14 are reserved. */
export const SAMPLING_FREQUENCIES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350] as const;

/** The escape value of samplingFrequencyIndex: an explicit 24-bit frequency follows. */
const EXPLICIT_FREQUENCY = 15;

export const AudioObjectType = {
  AacMain: 1,
  AacLc: 2,
  AacSsr: 3,
  AacLtp: 4,
  Sbr: 5,
  Ps: 29,
} as const;

/** Object types with a GASpecificConfig, which starts with frameLengthFlag. */
const GA_OBJECT_TYPES = new Set([1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23]);

export interface AudioSpecificConfig {
  /**
   * The object type of the core coder: 2 for AAC LC, also under HE-AAC, whose SBR/PS layer is
   * reported in extensionObjectType.
   */
  objectType: number;
  /** 5 (SBR, HE-AAC) or 29 (PS, HE-AAC v2) when signalled explicitly. */
  extensionObjectType?: number;
  /** 0..12 from the table, or 15 when the frequency is explicit. */
  samplingFrequencyIndex: number;
  /** Sample rate of the core coder in Hz. */
  sampleRate: number;
  /** Output sample rate of the SBR layer, when signalled. */
  extensionSampleRate?: number;
  /** 1..7 speaker layouts; 0 means a program config element defines them. */
  channelConfiguration: number;
  /** Core samples per frame: 1024, or 960 when frameLengthFlag is set. */
  samplesPerFrame: 1024 | 960;
}

function readObjectType(r: BitReader): number {
  const type = r.bits(5);
  return type === 31 ? 32 + r.bits(6) : type;
}

function readFrequency(r: BitReader): { index: number; rate: number } {
  const index = r.bits(4);
  if (index === EXPLICIT_FREQUENCY) {
    const rate = r.bits(24);
    if (rate === 0) throw new MediaFormatError('aac', 'explicit sampling frequency of 0 Hz');
    return { index, rate };
  }
  const rate = SAMPLING_FREQUENCIES[index];
  if (rate === undefined) throw new MediaFormatError('aac', `samplingFrequencyIndex ${index} is reserved`);
  return { index, rate };
}

export function parseAudioSpecificConfig(bytes: Uint8Array): AudioSpecificConfig {
  const r = new BitReader(bytes, 'aac', 'AudioSpecificConfig');
  let objectType = readObjectType(r);
  if (objectType === 0) throw new MediaFormatError('aac', 'audio object type 0 is not defined');
  const frequency = readFrequency(r);
  const channelConfiguration = r.bits(4);
  const config: AudioSpecificConfig = {
    objectType,
    samplingFrequencyIndex: frequency.index,
    sampleRate: frequency.rate,
    channelConfiguration,
    samplesPerFrame: 1024,
  };
  if (objectType === AudioObjectType.Sbr || objectType === AudioObjectType.Ps) {
    // Explicit hierarchical signalling: the output rate of SBR, then the core coder's type.
    config.extensionObjectType = objectType;
    config.extensionSampleRate = readFrequency(r).rate;
    objectType = readObjectType(r);
    config.objectType = objectType;
  }
  // Some encoders stop after the first two bytes; a missing frameLengthFlag means 1024.
  if (GA_OBJECT_TYPES.has(objectType) && r.bitsLeft > 0 && r.flag()) config.samplesPerFrame = 960;
  return config;
}

/** The duration of one frame in seconds. */
export function frameDurationSeconds(config: AudioSpecificConfig): number {
  return config.samplesPerFrame / config.sampleRate;
}

export const ADTS_HEADER_SIZE = 7;
/** frame_length is 13 bits and counts the header. */
export const MAX_ADTS_FRAME_BYTES = 0x1fff;
const MAX_ADTS_FRAME = MAX_ADTS_FRAME_BYTES;

/**
 * The 7-byte ADTS header (no CRC) for one raw frame of rawLength bytes. ADTS can carry only the
 * four original AAC object types, a tabled sampling frequency and channel configurations 1-7;
 * anything else raises MediaFormatError, since a header that lies makes the audio undecodable.
 */
export function adtsHeader(config: AudioSpecificConfig, rawLength: number): Buffer {
  const h = Buffer.alloc(ADTS_HEADER_SIZE);
  writeAdtsHeader(config, rawLength, h, 0);
  return h;
}

/** Writes the ADTS header of adtsHeader into `out` at `at`, without allocating. */
export function writeAdtsHeader(config: AudioSpecificConfig, rawLength: number, out: Uint8Array, at: number): void {
  if (config.objectType < 1 || config.objectType > 4) {
    throw new MediaFormatError('aac', `audio object type ${config.objectType} cannot be carried in ADTS`);
  }
  let frequencyIndex = config.samplingFrequencyIndex;
  if (frequencyIndex === EXPLICIT_FREQUENCY) {
    frequencyIndex = SAMPLING_FREQUENCIES.indexOf(config.sampleRate as (typeof SAMPLING_FREQUENCIES)[number]);
    if (frequencyIndex < 0) throw new MediaFormatError('aac', `sampling frequency ${config.sampleRate} Hz cannot be carried in ADTS`);
  }
  if (config.channelConfiguration < 1 || config.channelConfiguration > 7) {
    throw new MediaFormatError('aac', `channel configuration ${config.channelConfiguration} cannot be carried in ADTS`);
  }
  const frameLength = ADTS_HEADER_SIZE + rawLength;
  if (rawLength < 0 || frameLength > MAX_ADTS_FRAME) {
    throw new MediaFormatError('aac', `a ${rawLength}-byte frame does not fit in ADTS`);
  }
  const profile = config.objectType - 1;
  const channels = config.channelConfiguration;
  const fullness = 0x7ff; // variable bit rate
  out[at] = 0xff; // syncword 0xFFF ...
  out[at + 1] = 0xf1; // ... MPEG-4, layer 0, protection_absent (no CRC)
  out[at + 2] = (profile << 6) | (frequencyIndex << 2) | (channels >> 2);
  out[at + 3] = ((channels & 0x03) << 6) | (frameLength >> 11);
  out[at + 4] = (frameLength >> 3) & 0xff;
  out[at + 5] = ((frameLength & 0x07) << 5) | (fullness >> 6);
  out[at + 6] = (fullness & 0x3f) << 2; // number_of_raw_data_blocks_in_frame: 0 (one block)
}

/** A raw frame behind its ADTS header. */
export function adtsFrame(config: AudioSpecificConfig, raw: Uint8Array): Buffer {
  return Buffer.concat([adtsHeader(config, raw.length), raw]);
}
