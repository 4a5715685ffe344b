/**
 * An MPEG-TS muxer for one program with at most one H.264 and one AAC (ADTS) stream: what an HLS
 * segment holds. It turns access units into 188-byte packets; when to start a segment, and what
 * the timestamps are, is the caller's business (see hls/segmenter.ts).
 *
 * Timestamps are 90 kHz ticks. They may grow past 2^33 and are written modulo 2^33, the way the
 * 33-bit PTS of a long broadcast wraps anyway.
 */
import { MediaFormatError } from '../format-error.js';
import { NalUnitType, nalUnitType } from '../codecs/h264.js';
import { crc32Mpeg2 } from './crc.js';

export const TS_PACKET_SIZE = 188;
const SYNC_BYTE = 0x47;
const PAYLOAD_SIZE = TS_PACKET_SIZE - 4;
const PTS_MODULO = 2 ** 33;

export const StreamType = {
  Aac: 0x0f,
  H264: 0x1b,
} as const;

const StreamId = {
  Video: 0xe0,
  Audio: 0xc0,
} as const;

export interface TsPids {
  pmt: number;
  video: number;
  audio: number;
}

/** The PIDs ffmpeg uses, so tools show familiar numbers. */
export const DEFAULT_PIDS: TsPids = { pmt: 0x1000, video: 0x100, audio: 0x101 };

/** Which elementary streams the program has; the PMT lists exactly these. */
export interface TsTracks {
  video: boolean;
  audio: boolean;
}

export interface TsMuxerOptions {
  pids?: Partial<TsPids>;
  /**
   * How far the PCR runs behind the video DTS, in 90 kHz ticks: the time a decoder buffers before
   * decoding. 0.7 s, as ffmpeg and nginx-rtmp use. Timestamps given to the muxer should be at
   * least this large so that the PCR does not start negative.
   */
  pcrLead?: number;
}

/** One H.264 access unit. */
export interface VideoAccessUnit {
  /** Decode timestamp, 90 kHz. */
  dts: number;
  /** Presentation timestamp, 90 kHz. */
  pts: number;
  /** A random access point (IDR, or what the publisher marked as a keyframe). */
  keyframe: boolean;
  /** The NAL units, without length prefixes or start codes. */
  nalus: readonly Uint8Array[];
}

/** One audio PES: one or more consecutive ADTS frames, the first presented at pts. */
export interface AudioPes {
  pts: number;
  adts: Uint8Array;
}

/** nal_unit_type 9 with primary_pic_type 7 (any slice type) and the RBSP stop bit. */
const ACCESS_UNIT_DELIMITER = Buffer.from([0x09, 0xf0]);
const START_CODE = Buffer.from([0, 0, 0, 1]);

const PAT_PID = 0x0000;
const PROGRAM_NUMBER = 1;
const TRANSPORT_STREAM_ID = 1;
/** PES_packet_length is 16 bits; only video may leave it 0 (unbounded) in a transport stream. */
const MAX_PES_LENGTH = 0xffff;

function mod33(ticks: number): number {
  const t = Math.round(ticks) % PTS_MODULO;
  return t < 0 ? t + PTS_MODULO : t;
}

/** A 5-byte PTS or DTS field: 4-bit prefix, then 33 bits split 3/15/15 by marker bits. */
function writeTimestamp(out: Buffer, at: number, prefix: number, ticks: number): void {
  const t = mod33(ticks);
  out[at] = (prefix << 4) | ((Math.floor(t / 2 ** 30) & 0x07) << 1) | 1;
  out[at + 1] = Math.floor(t / 2 ** 22) & 0xff;
  out[at + 2] = ((Math.floor(t / 2 ** 15) & 0x7f) << 1) | 1;
  out[at + 3] = Math.floor(t / 2 ** 7) & 0xff;
  out[at + 4] = ((t & 0x7f) << 1) | 1;
}

/** A 6-byte PCR: 33-bit base (90 kHz), 6 reserved bits, 9-bit extension (0). */
function writePcr(out: Buffer, at: number, ticks: number): void {
  const base = mod33(ticks);
  out[at] = Math.floor(base / 2 ** 25) & 0xff;
  out[at + 1] = Math.floor(base / 2 ** 17) & 0xff;
  out[at + 2] = Math.floor(base / 2 ** 9) & 0xff;
  out[at + 3] = Math.floor(base / 2) & 0xff;
  out[at + 4] = ((base & 1) << 7) | 0x7e;
  out[at + 5] = 0;
}

function pesHeader(streamId: number, payloadLength: number, pts: number, dts: number | undefined, bounded: boolean): Buffer {
  const withDts = dts !== undefined && mod33(dts) !== mod33(pts);
  const headerDataLength = withDts ? 10 : 5;
  const h = Buffer.alloc(9 + headerDataLength);
  h[2] = 0x01; // packet_start_code_prefix 00 00 01
  h[3] = streamId;
  const length = 3 + headerDataLength + payloadLength;
  if (bounded && length > MAX_PES_LENGTH) {
    throw new MediaFormatError('mpegts', `audio PES of ${length} bytes exceeds the 16-bit PES length`);
  }
  h.writeUInt16BE(bounded ? length : 0, 4);
  // '10' marker, data_alignment_indicator: every PES starts with an access unit delimiter or ADTS sync word.
  h[6] = 0x84;
  h[7] = withDts ? 0xc0 : 0x80;
  h[8] = headerDataLength;
  writeTimestamp(h, 9, withDts ? 0x3 : 0x2, pts);
  if (withDts) writeTimestamp(h, 14, 0x1, dts);
  return h;
}

export class TsMuxer {
  readonly pids: TsPids;
  private readonly pcrLead: number;
  private tracks: TsTracks;
  private pmtVersion = 0;
  private tablesWritten = false;
  private readonly continuity = new Map<number, number>();
  private parameterSets: Uint8Array[] = [];

  constructor(tracks: TsTracks, options: TsMuxerOptions = {}) {
    this.pids = { ...DEFAULT_PIDS, ...options.pids };
    this.pcrLead = options.pcrLead ?? 63000;
    this.tracks = { ...tracks };
  }

  /** Changes the streams the PMT lists (a track appeared); the PMT version changes with it. */
  setTracks(tracks: TsTracks): void {
    if (tracks.video === this.tracks.video && tracks.audio === this.tracks.audio) return;
    this.tracks = { ...tracks };
    // A receiver only needs a new version to tell this PMT from one it has already seen.
    if (this.tablesWritten) this.pmtVersion = (this.pmtVersion + 1) % 32;
  }

  /**
   * The SPS and PPS (from the AVC decoder configuration) to put before every keyframe that does
   * not carry its own, so that a player can start decoding at any segment.
   */
  setParameterSets(sps: readonly Uint8Array[], pps: readonly Uint8Array[]): void {
    this.parameterSets = [...sps, ...pps];
  }

  private get pcrPid(): number {
    return this.tracks.video || !this.tracks.audio ? this.pids.video : this.pids.audio;
  }

  /** PAT and PMT: what every segment starts with. */
  tables(): Buffer {
    const pat = this.section(0x00, TRANSPORT_STREAM_ID, 0, (() => {
      const body = Buffer.alloc(4);
      body.writeUInt16BE(PROGRAM_NUMBER, 0);
      body.writeUInt16BE(0xe000 | this.pids.pmt, 2);
      return body;
    })());
    const streams: Buffer[] = [];
    const stream = (type: number, pid: number): Buffer => Buffer.from([type, 0xe0 | (pid >> 8), pid & 0xff, 0xf0, 0x00]);
    if (this.tracks.video) streams.push(stream(StreamType.H264, this.pids.video));
    if (this.tracks.audio) streams.push(stream(StreamType.Aac, this.pids.audio));
    const pcr = Buffer.from([0xe0 | (this.pcrPid >> 8), this.pcrPid & 0xff, 0xf0, 0x00]); // program_info_length 0
    const pmt = this.section(0x02, PROGRAM_NUMBER, this.pmtVersion, Buffer.concat([pcr, ...streams]));
    this.tablesWritten = true;
    return Buffer.concat([this.psiPacket(PAT_PID, pat), this.psiPacket(this.pids.pmt, pmt)]);
  }

  /** A PSI section with the long-form header and its CRC. */
  private section(tableId: number, idExtension: number, version: number, body: Buffer): Buffer {
    const section = Buffer.alloc(8 + body.length + 4);
    section[0] = tableId;
    section.writeUInt16BE(0xb000 | (5 + body.length + 4), 1); // section_syntax_indicator, '0', reserved, length
    section.writeUInt16BE(idExtension, 3);
    section[5] = 0xc1 | (version << 1); // reserved, version_number, current_next_indicator
    section[6] = 0; // section_number
    section[7] = 0; // last_section_number
    body.copy(section, 8);
    section.writeUInt32BE(crc32Mpeg2(section.subarray(0, section.length - 4)), section.length - 4);
    return section;
  }

  private psiPacket(pid: number, section: Buffer): Buffer {
    if (section.length + 1 > PAYLOAD_SIZE) throw new MediaFormatError('mpegts', 'PSI section does not fit one packet');
    const packet = Buffer.alloc(TS_PACKET_SIZE, 0xff);
    packet[0] = SYNC_BYTE;
    packet[1] = 0x40 | (pid >> 8); // payload_unit_start_indicator
    packet[2] = pid & 0xff;
    packet[3] = 0x10 | this.nextContinuity(pid);
    packet[4] = 0; // pointer_field
    section.copy(packet, 5);
    return packet;
  }

  private nextContinuity(pid: number): number {
    const cc = this.continuity.get(pid) ?? 0;
    this.continuity.set(pid, (cc + 1) & 0x0f);
    return cc;
  }

  /**
   * One video access unit as a PES: an access unit delimiter first, then on keyframes the
   * parameter sets (unless the access unit has its own SPS), then the access unit's NAL units.
   */
  video(au: VideoAccessUnit): Buffer {
    if (!this.tracks.video) throw new MediaFormatError('mpegts', 'video written to a program without a video stream');
    let hasIdr = false;
    let hasSps = false;
    for (const nal of au.nalus) {
      const type = nalUnitType(nal);
      if (type === NalUnitType.IdrSlice) hasIdr = true;
      else if (type === NalUnitType.Sps) hasSps = true;
    }
    const keyframe = au.keyframe || hasIdr;
    const parts: Uint8Array[] = [START_CODE, ACCESS_UNIT_DELIMITER];
    if (keyframe && !hasSps) for (const ps of this.parameterSets) parts.push(START_CODE, ps);
    for (const nal of au.nalus) {
      // The publisher's own delimiters would make a second, empty access unit.
      if (nalUnitType(nal) === NalUnitType.AccessUnitDelimiter) continue;
      parts.push(START_CODE, nal);
    }
    const payload = Buffer.concat(parts);
    const header = pesHeader(StreamId.Video, payload.length, au.pts, au.dts, false);
    return this.packetize(this.pids.video, [header, payload], {
      randomAccess: keyframe,
      pcr: this.pcrPid === this.pids.video ? au.dts - this.pcrLead : undefined,
    });
  }

  /** One audio PES. */
  audio(pes: AudioPes): Buffer {
    if (!this.tracks.audio) throw new MediaFormatError('mpegts', 'audio written to a program without an audio stream');
    const header = pesHeader(StreamId.Audio, pes.adts.length, pes.pts, undefined, true);
    return this.packetize(this.pids.audio, [header, pes.adts], {
      // Every ADTS frame can be decoded on its own.
      randomAccess: true,
      pcr: this.pcrPid === this.pids.audio ? pes.pts - this.pcrLead : undefined,
    });
  }

  /**
   * Splits a PES into packets. The first carries payload_unit_start_indicator and, in its
   * adaptation field, the random access indicator and PCR; the last is padded with adaptation
   * field stuffing, since a PES must end exactly at a packet end.
   */
  private packetize(pid: number, pieces: readonly Uint8Array[], first: { randomAccess: boolean; pcr: number | undefined }): Buffer {
    const pes = Buffer.concat(pieces);
    const packets: Buffer[] = [];
    let offset = 0;
    while (offset < pes.length) {
      const isFirst = offset === 0;
      const packet = Buffer.alloc(TS_PACKET_SIZE);
      let flags = 0;
      if (isFirst && first.randomAccess) flags |= 0x40;
      if (isFirst && first.pcr !== undefined) flags |= 0x10;
      // Adaptation field size, counting its length byte: length, flags, and 6 bytes of PCR.
      let adaptation = flags === 0 ? 0 : 2 + (flags & 0x10 ? 6 : 0);
      const remaining = pes.length - offset;
      const room = PAYLOAD_SIZE - adaptation;
      if (remaining < room) {
        const stuffing = room - remaining;
        // One byte of stuffing is an adaptation field of length 0; more needs the flags byte too.
        adaptation = adaptation === 0 ? stuffing : adaptation + stuffing;
      }
      packet[0] = SYNC_BYTE;
      packet[1] = (isFirst ? 0x40 : 0) | ((pid >> 8) & 0x1f);
      packet[2] = pid & 0xff;
      packet[3] = (adaptation > 0 ? 0x30 : 0x10) | this.nextContinuity(pid);
      if (adaptation > 0) {
        packet[4] = adaptation - 1;
        if (adaptation > 1) {
          packet[5] = flags;
          let p = 6;
          if (flags & 0x10) {
            writePcr(packet, p, first.pcr!);
            p += 6;
          }
          packet.fill(0xff, p, 4 + adaptation);
        }
      }
      const take = TS_PACKET_SIZE - 4 - adaptation;
      pes.copy(packet, 4 + adaptation, offset, offset + take);
      offset += take;
      packets.push(packet);
    }
    return Buffer.concat(packets);
  }
}
