import { MediaFormatError } from './format-error.js';

/**
 * The FLV file layout, for feeding live tags to an ffmpeg child on a pipe: a 9-byte header,
 * then each tag as an 11-byte tag header, its body, and the 4-byte size of what came before.
 */
export function flvFileHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  const header = Buffer.from([0x46, 0x4c, 0x56, 0x01, (hasAudio ? 0x04 : 0) | (hasVideo ? 0x01 : 0), 0, 0, 0, 9, 0, 0, 0, 0]);
  return header;
}

/** One FLV tag (type 8 audio, 9 video, 18 script data) followed by its PreviousTagSize. */
export function flvTag(type: number, timestampMs: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(11 + body.length + 4);
  const ts = timestampMs >>> 0;
  out[0] = type;
  out.writeUIntBE(body.length, 1, 3);
  out.writeUIntBE(ts & 0xffffff, 4, 3);
  out[7] = (ts >>> 24) & 0xff;
  out.writeUIntBE(0, 8, 3);
  body.copy(out, 11);
  out.writeUInt32BE(11 + body.length, 11 + body.length);
  return out;
}

/** One tag read from an FLV file: its type (8 audio, 9 video, 18 script data), time and body. */
export interface FlvFileTag {
  type: number;
  timestampMs: number;
  body: Buffer;
}

const FLV_HEADER_MIN = 9;
const TAG_HEADER = 11;
const PREVIOUS_TAG_SIZE = 4;

/**
 * Reads an FLV file as it arrives in pieces (an ffmpeg child writing to a pipe): the header,
 * then tag after tag, each handed out once it is whole. A tag body larger than `maxTagBytes`,
 * or bytes that are not an FLV file, is a MediaFormatError: nothing the reader holds grows
 * beyond one tag.
 */
export class FlvFileReader {
  private pending: Buffer = Buffer.alloc(0);
  private headerRead = false;

  constructor(private readonly maxTagBytes = 16 * 1024 * 1024) {}

  /** The whole tags `chunk` completes, in order. */
  push(chunk: Buffer): FlvFileTag[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const tags: FlvFileTag[] = [];
    let at = 0;
    if (!this.headerRead) {
      if (this.pending.length < FLV_HEADER_MIN + PREVIOUS_TAG_SIZE) return tags;
      if (this.pending[0] !== 0x46 || this.pending[1] !== 0x4c || this.pending[2] !== 0x56) throw new MediaFormatError('flv', 'not an FLV file');
      const headerSize = this.pending.readUInt32BE(5);
      if (headerSize < FLV_HEADER_MIN || headerSize > 1024) throw new MediaFormatError('flv', `header size ${headerSize} is not valid`);
      if (this.pending.length < headerSize + PREVIOUS_TAG_SIZE) return tags;
      at = headerSize + PREVIOUS_TAG_SIZE;
      this.headerRead = true;
    }
    while (this.pending.length - at >= TAG_HEADER) {
      const size = this.pending.readUIntBE(at + 1, 3);
      if (size > this.maxTagBytes) throw new MediaFormatError('flv', `a tag of ${size} bytes is larger than ${this.maxTagBytes}`);
      const end = at + TAG_HEADER + size + PREVIOUS_TAG_SIZE;
      if (this.pending.length < end) break;
      const timestampMs = (this.pending.readUIntBE(at + 4, 3) | (this.pending[at + 7]! << 24)) >>> 0;
      tags.push({ type: this.pending[at]! & 0x1f, timestampMs, body: Buffer.from(this.pending.subarray(at + TAG_HEADER, at + TAG_HEADER + size)) });
      at = end;
    }
    this.pending = this.pending.subarray(at);
    return tags;
  }
}
