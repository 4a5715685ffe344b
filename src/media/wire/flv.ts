/**
 * FLV audio and video tag bodies: the payload of RTMP message types 8 (audio) and 9 (video), and
 * of FLV file tags. Only what packaging needs is interpreted: H.264 (AVC) video and AAC audio,
 * in the classic layout and in the enhanced-RTMP layout (FourCC headers). Any other codec is
 * reported as unsupported instead of being misread as one of these.
 *
 * Payloads are views into the body passed in (no copy): a caller that reuses its buffers must
 * copy first.
 */
import { MediaFormatError } from './format-error.js';

export const FlvTagType = {
  Audio: 8,
  Video: 9,
  Script: 18,
} as const;

/** The frame type nibble of a video tag. */
export type VideoFrameType = 'keyframe' | 'inter' | 'disposable-inter' | 'generated-keyframe' | 'command';

const frameTypes: Record<number, VideoFrameType> = {
  1: 'keyframe',
  2: 'inter',
  3: 'disposable-inter',
  4: 'generated-keyframe',
  5: 'command',
};

/** AVCPacketType; in enhanced RTMP, SequenceStart / CodedFrames(X) / SequenceEnd map to these. */
export type AvcPacketType = 'sequence-header' | 'nalu' | 'end-of-sequence';

interface VideoTagCommon {
  frameType: VideoFrameType;
  /** A random access point: the frame type says keyframe. */
  keyframe: boolean;
}

/** An H.264 tag. */
export interface AvcVideoTag extends VideoTagCommon {
  kind: 'avc';
  packetType: AvcPacketType;
  /** Presentation minus decode time in milliseconds (signed 24-bit); 0 unless packetType is 'nalu'. */
  compositionTimeMs: number;
  /**
   * 'sequence-header': an AVCDecoderConfigurationRecord; 'nalu': length-prefixed NAL units of one
   * access unit; 'end-of-sequence': empty.
   */
  payload: Buffer;
}

/** A video info/command frame (frame type 5): no picture, only a seek marker. */
export interface VideoCommandTag extends VideoTagCommon {
  kind: 'command';
  command: number;
}

/** A video codec this code does not package (H.263, VP6, HEVC, AV1, multitrack...). */
export interface UnsupportedVideoTag extends VideoTagCommon {
  kind: 'unsupported';
  /** A readable name: the classic codec id or the enhanced-RTMP FourCC. */
  codec: string;
}

export type VideoTag = AvcVideoTag | VideoCommandTag | UnsupportedVideoTag;

export type AacPacketType = 'sequence-header' | 'raw';

export interface AacAudioTag {
  kind: 'aac';
  packetType: AacPacketType;
  /** 'sequence-header': an AudioSpecificConfig; 'raw': one raw AAC frame (no ADTS header). */
  payload: Buffer;
}

export interface UnsupportedAudioTag {
  kind: 'unsupported';
  codec: string;
}

export type AudioTag = AacAudioTag | UnsupportedAudioTag;

const CODEC_ID_AVC = 7;
const SOUND_FORMAT_AAC = 10;
/** Enhanced RTMP puts this sound format in the first nibble to announce a FourCC header. */
const SOUND_FORMAT_EX_HEADER = 9;

const videoCodecNames: Record<number, string> = {
  1: 'JPEG',
  2: 'Sorenson H.263',
  3: 'Screen video',
  4: 'On2 VP6',
  5: 'On2 VP6 with alpha',
  6: 'Screen video v2',
  12: 'HEVC (codec id 12)',
};

const soundFormatNames: Record<number, string> = {
  0: 'Linear PCM, platform endian',
  1: 'ADPCM',
  2: 'MP3',
  3: 'Linear PCM, little endian',
  4: 'Nellymoser 16 kHz mono',
  5: 'Nellymoser 8 kHz mono',
  6: 'Nellymoser',
  7: 'G.711 A-law',
  8: 'G.711 mu-law',
  11: 'Speex',
  14: 'MP3 8 kHz',
  15: 'Device-specific sound',
};

/** Enhanced-RTMP video packet types (the low nibble of byte 0 when its top bit is set). */
const ExVideoPacket = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  CodedFramesX: 3,
  Metadata: 4,
  Mpeg2TsSequenceStart: 5,
  Multitrack: 6,
  ModEx: 7,
} as const;

/** Enhanced-RTMP audio packet types. */
const ExAudioPacket = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  MultichannelConfig: 4,
  Multitrack: 5,
  ModEx: 7,
} as const;

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function fourCc(body: Buffer, at: number): string {
  return String.fromCharCode(body[at]!, body[at + 1]!, body[at + 2]!, body[at + 3]!);
}

function need(body: Buffer, length: number, what: string): void {
  if (body.length < length) {
    throw new MediaFormatError('flv', `${what}: ${body.length} bytes, at least ${length} needed`);
  }
}

/** Composition time is a signed 24-bit big-endian integer. */
function readSigned24(body: Buffer, at: number): number {
  const unsigned = (body[at]! << 16) | (body[at + 1]! << 8) | body[at + 2]!;
  return unsigned & 0x800000 ? unsigned - 0x1000000 : unsigned;
}

/** Parses the body of a video message (RTMP type 9, FLV tag type 9). */
export function parseVideoTag(body: Uint8Array): VideoTag {
  const b = asBuffer(body);
  need(b, 1, 'video tag');
  const first = b[0]!;
  const enhanced = (first & 0x80) !== 0;
  const frameTypeValue = (first >> 4) & (enhanced ? 0x07 : 0x0f);
  const frameType = frameTypes[frameTypeValue];
  if (frameType === undefined) throw new MediaFormatError('flv', `video frame type ${frameTypeValue} is not defined`);
  return enhanced ? parseEnhancedVideo(b, frameType) : parseClassicVideo(b, frameType);
}

// Each kind of tag is made by one function with its fields always in the same order: every
// message goes through here a few times. Made by object spread, the tags were promoted by V8 to
// its old space (a megabyte a second at 20 publishers), freed only by full collections.
function avcTag(frameType: VideoFrameType, packetType: AvcPacketType, compositionTimeMs: number, payload: Buffer): AvcVideoTag {
  return { frameType, keyframe: frameType === 'keyframe', kind: 'avc', packetType, compositionTimeMs, payload };
}

function commandTag(frameType: VideoFrameType, command: number): VideoCommandTag {
  return { frameType, keyframe: frameType === 'keyframe', kind: 'command', command };
}

function unsupportedVideo(frameType: VideoFrameType, codec: string): UnsupportedVideoTag {
  return { frameType, keyframe: frameType === 'keyframe', kind: 'unsupported', codec };
}

function parseClassicVideo(b: Buffer, frameType: VideoFrameType): VideoTag {
  const codecId = b[0]! & 0x0f;
  if (codecId !== CODEC_ID_AVC) {
    return unsupportedVideo(frameType, videoCodecNames[codecId] ?? `video codec id ${codecId}`);
  }
  // A command frame carries one UI8 after the AVC header byte instead of a picture.
  if (frameType === 'command') {
    need(b, 2, 'AVC command frame');
    return commandTag(frameType, b[1]!);
  }
  need(b, 5, 'AVC video tag');
  const packetTypeValue = b[1]!;
  const packetType = (['sequence-header', 'nalu', 'end-of-sequence'] as const)[packetTypeValue];
  if (packetType === undefined) throw new MediaFormatError('flv', `AVCPacketType ${packetTypeValue} is not defined`);
  return avcTag(frameType, packetType, packetType === 'nalu' ? readSigned24(b, 2) : 0, b.subarray(5));
}

function parseEnhancedVideo(b: Buffer, frameType: VideoFrameType): VideoTag {
  const packetTypeValue = b[0]! & 0x0f;
  // A command frame has the command right after the header byte, no FourCC.
  if (frameType === 'command' && packetTypeValue !== ExVideoPacket.Metadata) {
    need(b, 2, 'enhanced video command frame');
    return commandTag(frameType, b[1]!);
  }
  if (packetTypeValue === ExVideoPacket.Multitrack || packetTypeValue === ExVideoPacket.ModEx) {
    const what = packetTypeValue === ExVideoPacket.Multitrack ? 'multitrack' : 'ModEx';
    return unsupportedVideo(frameType, `enhanced RTMP ${what} video`);
  }
  need(b, 5, 'enhanced video tag');
  const codec = fourCc(b, 1);
  if (codec !== 'avc1') return unsupportedVideo(frameType, codec);
  switch (packetTypeValue) {
    case ExVideoPacket.SequenceStart:
      return avcTag(frameType, 'sequence-header', 0, b.subarray(5));
    case ExVideoPacket.CodedFrames:
      need(b, 8, 'enhanced AVC coded frames');
      return avcTag(frameType, 'nalu', readSigned24(b, 5), b.subarray(8));
    case ExVideoPacket.CodedFramesX:
      return avcTag(frameType, 'nalu', 0, b.subarray(5));
    case ExVideoPacket.SequenceEnd:
      return avcTag(frameType, 'end-of-sequence', 0, b.subarray(5));
    default:
      // Metadata (HDR info) and MPEG-2 TS sequence starts describe, they carry no picture.
      return unsupportedVideo(frameType, `avc1 video packet type ${packetTypeValue}`);
  }
}

/** Parses the body of an audio message (RTMP type 8, FLV tag type 8). */
export function parseAudioTag(body: Uint8Array): AudioTag {
  const b = asBuffer(body);
  need(b, 1, 'audio tag');
  const soundFormat = b[0]! >> 4;
  if (soundFormat === SOUND_FORMAT_EX_HEADER) return parseEnhancedAudio(b);
  if (soundFormat !== SOUND_FORMAT_AAC) {
    return { kind: 'unsupported', codec: soundFormatNames[soundFormat] ?? `sound format ${soundFormat}` };
  }
  need(b, 2, 'AAC audio tag');
  const packetTypeValue = b[1]!;
  const packetType = (['sequence-header', 'raw'] as const)[packetTypeValue];
  if (packetType === undefined) throw new MediaFormatError('flv', `AACPacketType ${packetTypeValue} is not defined`);
  return { kind: 'aac', packetType, payload: b.subarray(2) };
}

function parseEnhancedAudio(b: Buffer): AudioTag {
  const packetTypeValue = b[0]! & 0x0f;
  // These two put more header bits before the FourCC.
  if (packetTypeValue === ExAudioPacket.Multitrack || packetTypeValue === ExAudioPacket.ModEx) {
    const what = packetTypeValue === ExAudioPacket.Multitrack ? 'multitrack' : 'ModEx';
    return { kind: 'unsupported', codec: `enhanced RTMP ${what} audio` };
  }
  need(b, 5, 'enhanced audio tag');
  const codec = fourCc(b, 1);
  if (codec !== 'mp4a') return { kind: 'unsupported', codec };
  switch (packetTypeValue) {
    case ExAudioPacket.SequenceStart:
      return { kind: 'aac', packetType: 'sequence-header', payload: b.subarray(5) };
    case ExAudioPacket.CodedFrames:
      return { kind: 'aac', packetType: 'raw', payload: b.subarray(5) };
    default:
      return { kind: 'unsupported', codec: `mp4a audio packet type ${packetTypeValue}` };
  }
}
