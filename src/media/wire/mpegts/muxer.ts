/**
 * An MPEG-TS muxer for one program with at most one H.264 and one AAC (ADTS) stream: what an HLS
 * segment holds. It turns access units into 188-byte packets; when to start a segment, and what
 * the timestamps are, is the caller's business (see hls/segmenter.ts).
 *
 * Timestamps are 90 kHz ticks. They may grow past 2^33 and are written modulo 2^33, the way the
 * 33-bit PTS of a long broadcast wraps anyway.
 */
import { MediaFormatError } from '../format-error.js';
import { AvccNalUnits, NalUnitType, nalUnitType } from '../codecs/h264.js';
import { crc32Mpeg2 } from './crc.js';
import { PacketWriter, type PacketSink } from './packet-writer.js';

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
  /**
   * The NAL units, without length prefixes or start codes: a list, or the units of an AVCC
   * access unit as offsets (the live path, which then copies each byte once, into the packets).
   */
  nalus: readonly Uint8Array[] | AvccNalUnits;
}

/** One audio PES: one or more consecutive ADTS frames, the first presented at pts. */
export interface AudioPes {
  pts: number;
  /** The ADTS bytes, whole or in pieces (headers and raw frames) to be written one after another. */
  adts: Uint8Array | readonly Uint8Array[];
}

/** nal_unit_type 9 with primary_pic_type 7 (any slice type) and the RBSP stop bit. */
const ACCESS_UNIT_DELIMITER = Buffer.from([0x09, 0xf0]);
const START_CODE = Buffer.from([0, 0, 0, 1]);

const PAT_PID = 0x0000;
const PROGRAM_NUMBER = 1;
const TRANSPORT_STREAM_ID = 1;
/** PES_packet_length is 16 bits; only video may leave it 0 (unbounded) in a transport stream. */
const MAX_PES_LENGTH = 0xffff;
/** The longest PES header written: 9 bytes, PTS and DTS. */
const MAX_PES_HEADER = 19;

function mod33(ticks: number): number {
  const t = Math.round(ticks) % PTS_MODULO;
  return t < 0 ? t + PTS_MODULO : t;
}

/** A 5-byte PTS or DTS field: 4-bit prefix, then 33 bits split 3/15/15 by marker bits. */
function writeTimestamp(out: Uint8Array, at: number, prefix: number, ticks: number): void {
  const t = mod33(ticks);
  out[at] = (prefix << 4) | ((Math.floor(t / 2 ** 30) & 0x07) << 1) | 1;
  out[at + 1] = Math.floor(t / 2 ** 22) & 0xff;
  out[at + 2] = ((Math.floor(t / 2 ** 15) & 0x7f) << 1) | 1;
  out[at + 3] = Math.floor(t / 2 ** 7) & 0xff;
  out[at + 4] = ((t & 0x7f) << 1) | 1;
}

/** A 6-byte PCR: 33-bit base (90 kHz), 6 reserved bits, 9-bit extension (0). */
function writePcr(out: Uint8Array, at: number, ticks: number): void {
  const base = mod33(ticks);
  out[at] = Math.floor(base / 2 ** 25) & 0xff;
  out[at + 1] = Math.floor(base / 2 ** 17) & 0xff;
  out[at + 2] = Math.floor(base / 2 ** 9) & 0xff;
  out[at + 3] = Math.floor(base / 2) & 0xff;
  out[at + 4] = ((base & 1) << 7) | 0x7e;
  out[at + 5] = 0;
}

/** Writes a PES header into `h` (at least MAX_PES_HEADER bytes); returns its length. */
function writePesHeader(h: Uint8Array, streamId: number, payloadLength: number, pts: number, dts: number | undefined, bounded: boolean): number {
  const withDts = dts !== undefined && mod33(dts) !== mod33(pts);
  const headerDataLength = withDts ? 10 : 5;
  const length = 3 + headerDataLength + payloadLength;
  if (bounded && length > MAX_PES_LENGTH) {
    throw new MediaFormatError('mpegts', `audio PES of ${length} bytes exceeds the 16-bit PES length`);
  }
  const declared = bounded ? length : 0;
  h[0] = 0x00;
  h[1] = 0x00;
  h[2] = 0x01; // packet_start_code_prefix 00 00 01
  h[3] = streamId;
  h[4] = declared >> 8;
  h[5] = declared & 0xff;
  // '10' marker, data_alignment_indicator: every PES starts with an access unit delimiter or ADTS sync word.
  h[6] = 0x84;
  h[7] = withDts ? 0xc0 : 0x80;
  h[8] = headerDataLength;
  writeTimestamp(h, 9, withDts ? 0x3 : 0x2, pts);
  if (withDts) writeTimestamp(h, 14, 0x1, dts);
  return 9 + headerDataLength;
}

/**
 * A PES as a list of byte ranges to be written one after another (header, start codes, NAL
 * units, ADTS frames), so that it goes into the packets with one copy and no joined buffer.
 * Reused from PES to PES.
 */
class Gather {
  readonly sources: Uint8Array[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  count = 0;
  bytes = 0;
  // The read cursor.
  private index = 0;
  /** Where in range `index` the next byte is; -1 before the range has been entered. */
  private position = -1;

  clear(): void {
    // Dropped so that a finished PES does not keep its frame alive.
    for (let i = 0; i < this.count; i++) this.sources[i] = EMPTY;
    this.count = 0;
    this.bytes = 0;
    this.index = 0;
    this.position = -1;
  }

  /** Starts the list with an empty range of `source`, to be sized later (the PES header). */
  first(source: Uint8Array): void {
    this.sources[0] = source;
    this.starts[0] = 0;
    this.ends[0] = 0;
    this.count = 1;
  }

  add(source: Uint8Array, start = 0, end = source.length): void {
    if (end <= start) return;
    this.sources[this.count] = source;
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count++;
    this.bytes += end - start;
  }

  /** Copies the next `bytes` of the PES to `target` at `at`. */
  read(target: Buffer, at: number, bytes: number): void {
    while (bytes > 0) {
      if (this.position < 0) this.position = this.starts[this.index]!;
      const source = this.sources[this.index]!;
      const end = this.ends[this.index]!;
      const take = Math.min(bytes, end - this.position);
      if (take < 16) {
        for (let i = 0; i < take; i++) target[at + i] = source[this.position + i]!;
      } else {
        target.set(source.subarray(this.position, this.position + take), at);
      }
      at += take;
      bytes -= take;
      this.position += take;
      if (this.position === end) {
        this.index++;
        this.position = -1;
      }
    }
  }
}

const EMPTY = new Uint8Array(0);

export class TsMuxer {
  readonly pids: TsPids;
  private readonly pcrLead: number;
  private tracks: TsTracks;
  private pmtVersion = 0;
  private tablesWritten = false;
  private readonly continuity = new Map<number, number>();
  private parameterSets: Uint8Array[] = [];
  private readonly gather = new Gather();
  private readonly pesHeader = Buffer.alloc(MAX_PES_HEADER);

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
    const out = new PacketWriter(2 * TS_PACKET_SIZE);
    this.writeTables(out);
    return out.take(0);
  }

  /** One video access unit's packets (see writeVideo). */
  video(au: VideoAccessUnit): Buffer {
    const out = new PacketWriter();
    this.writeVideo(au, out);
    return out.take(0);
  }

  /** One audio PES's packets. */
  audio(pes: AudioPes): Buffer {
    const out = new PacketWriter();
    this.writeAudio(pes, out);
    return out.take(0);
  }

  /** Writes the PAT and PMT. */
  writeTables(out: PacketSink): void {
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
    this.psiPacket(out, PAT_PID, pat);
    this.psiPacket(out, this.pids.pmt, pmt);
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

  private psiPacket(out: PacketSink, pid: number, section: Buffer): void {
    if (section.length + 1 > PAYLOAD_SIZE) throw new MediaFormatError('mpegts', 'PSI section does not fit one packet');
    const packet = out.reserve(TS_PACKET_SIZE);
    const at = out.offset;
    packet.fill(0xff, at, at + TS_PACKET_SIZE);
    packet[at] = SYNC_BYTE;
    packet[at + 1] = 0x40 | (pid >> 8); // payload_unit_start_indicator
    packet[at + 2] = pid & 0xff;
    packet[at + 3] = 0x10 | this.nextContinuity(pid);
    packet[at + 4] = 0; // pointer_field
    packet.set(section, at + 5);
    out.commit(TS_PACKET_SIZE);
  }

  private nextContinuity(pid: number): number {
    const cc = this.continuity.get(pid) ?? 0;
    this.continuity.set(pid, (cc + 1) & 0x0f);
    return cc;
  }

  /**
   * Writes one video access unit as a PES: an access unit delimiter first, then on keyframes the
   * parameter sets (unless the access unit has its own SPS), then the access unit's NAL units,
   * each behind a start code, copied straight into the packets.
   */
  writeVideo(au: VideoAccessUnit, out: PacketSink): void {
    if (!this.tracks.video) throw new MediaFormatError('mpegts', 'video written to a program without a video stream');
    const gather = this.gather;
    gather.clear();
    gather.first(this.pesHeader); // sized below, once the payload length is known
    gather.add(START_CODE);
    gather.add(ACCESS_UNIT_DELIMITER);
    let keyframe = au.keyframe;
    const nalus = au.nalus;
    if (nalus instanceof AvccNalUnits) {
      keyframe ||= nalus.idr;
      if (keyframe && !nalus.sps) this.addParameterSets();
      for (let i = 0; i < nalus.count; i++) {
        // The publisher's own delimiters would make a second, empty access unit.
        if (nalus.type(i) === NalUnitType.AccessUnitDelimiter) continue;
        gather.add(START_CODE);
        gather.add(nalus.data, nalus.starts[i]!, nalus.ends[i]!);
      }
    } else {
      let hasSps = false;
      for (const nal of nalus) {
        const type = nalUnitType(nal);
        if (type === NalUnitType.IdrSlice) keyframe = true;
        else if (type === NalUnitType.Sps) hasSps = true;
      }
      if (keyframe && !hasSps) this.addParameterSets();
      for (const nal of nalus) {
        if (nalUnitType(nal) === NalUnitType.AccessUnitDelimiter) continue;
        gather.add(START_CODE);
        gather.add(nal);
      }
    }
    this.setPesHeader(StreamId.Video, au.pts, au.dts, false);
    this.packetize(out, this.pids.video, keyframe, this.pcrPid === this.pids.video ? au.dts - this.pcrLead : undefined);
  }

  private addParameterSets(): void {
    for (const ps of this.parameterSets) {
      this.gather.add(START_CODE);
      this.gather.add(ps);
    }
  }

  /** Writes one audio PES. */
  writeAudio(pes: AudioPes, out: PacketSink): void {
    if (!this.tracks.audio) throw new MediaFormatError('mpegts', 'audio written to a program without an audio stream');
    const gather = this.gather;
    gather.clear();
    gather.first(this.pesHeader);
    if (pes.adts instanceof Uint8Array) gather.add(pes.adts);
    else for (const piece of pes.adts) gather.add(piece);
    this.setPesHeader(StreamId.Audio, pes.pts, undefined, true);
    // Every ADTS frame can be decoded on its own.
    this.packetize(out, this.pids.audio, true, this.pcrPid === this.pids.audio ? pes.pts - this.pcrLead : undefined);
  }

  /** Fills in the gather's first range, the PES header, now that the payload length is known. */
  private setPesHeader(streamId: number, pts: number, dts: number | undefined, bounded: boolean): void {
    const gather = this.gather;
    const headerLength = writePesHeader(this.pesHeader, streamId, gather.bytes, pts, dts, bounded);
    gather.ends[0] = headerLength;
    gather.bytes += headerLength;
  }

  /**
   * Splits the gathered PES into packets written in place. The first carries
   * payload_unit_start_indicator and, in its adaptation field, the random access indicator and
   * PCR; the last is padded with adaptation field stuffing, since a PES must end exactly at a
   * packet end.
   */
  private packetize(out: PacketSink, pid: number, randomAccess: boolean, pcr: number | undefined): void {
    const total = this.gather.bytes;
    let offset = 0;
    while (offset < total) {
      const isFirst = offset === 0;
      const packet = out.reserve(TS_PACKET_SIZE);
      const at = out.offset;
      let flags = 0;
      if (isFirst && randomAccess) flags |= 0x40;
      if (isFirst && pcr !== undefined) flags |= 0x10;
      // Adaptation field size, counting its length byte: length, flags, and 6 bytes of PCR.
      let adaptation = flags === 0 ? 0 : 2 + (flags & 0x10 ? 6 : 0);
      const remaining = total - offset;
      const room = PAYLOAD_SIZE - adaptation;
      if (remaining < room) {
        const stuffing = room - remaining;
        // One byte of stuffing is an adaptation field of length 0; more needs the flags byte too.
        adaptation = adaptation === 0 ? stuffing : adaptation + stuffing;
      }
      packet[at] = SYNC_BYTE;
      packet[at + 1] = (isFirst ? 0x40 : 0) | ((pid >> 8) & 0x1f);
      packet[at + 2] = pid & 0xff;
      packet[at + 3] = (adaptation > 0 ? 0x30 : 0x10) | this.nextContinuity(pid);
      if (adaptation > 0) {
        packet[at + 4] = adaptation - 1;
        if (adaptation > 1) {
          packet[at + 5] = flags;
          let p = at + 6;
          if (flags & 0x10) {
            writePcr(packet, p, pcr!);
            p += 6;
          }
          packet.fill(0xff, p, at + 4 + adaptation);
        }
      }
      const take = TS_PACKET_SIZE - 4 - adaptation;
      this.gather.read(packet, at + 4 + adaptation, take);
      offset += take;
      out.commit(TS_PACKET_SIZE);
    }
    this.gather.clear();
  }
}
