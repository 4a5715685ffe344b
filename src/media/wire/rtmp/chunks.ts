import type { RtmpMessage } from './messages.js';
import { MessageType } from './messages.js';

/**
 * The RTMP chunk stream, both ways: ChunkDecoder turns received bytes into whole messages
 * and ChunkEncoder splits messages into chunks. Pure code with explicit limits, so a hostile
 * peer can neither make it read out of bounds nor make it hold unbounded memory.
 */
export class ChunkError extends Error {
  override readonly name = 'ChunkError';
}

export interface ChunkLimits {
  /** Largest message accepted (the format allows 16 MiB - 1). */
  maxMessageSize: number;
  /** Most bytes held in partly received messages across all chunk streams. */
  maxBufferedBytes: number;
  /** Most chunk streams with state at once. */
  maxChunkStreams: number;
}

export const DEFAULT_CHUNK_LIMITS: ChunkLimits = {
  maxMessageSize: 8 * 1024 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  maxChunkStreams: 64,
};

/** The protocol's largest chunk size (31 bits). */
export const MAX_CHUNK_SIZE = 0x7fffffff;
const EXTENDED = 0xffffff;

interface ChunkStreamState {
  timestamp: number;
  delta: number;
  length: number;
  type: number;
  streamId: number;
  /** The last header of this chunk stream carried an extended timestamp. */
  extended: boolean;
  /**
   * The bytes of the message being received: one buffer grown geometrically up to the message
   * length, so a message in many small chunks costs neither an object per chunk nor quadratic
   * copying. Its first `received` bytes are filled.
   */
  data: Buffer | undefined;
  received: number;
  /** A header has been seen: fmt 1-3 chunks need one before them. */
  initialised: boolean;
}

export class ChunkDecoder {
  private chunkSize = 128;
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes received after `pending` and not joined to it yet: the chunk in progress needs more. */
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  /** Bytes from the start of `pending` that the next chunk needs before parsing it can progress. */
  private needed = 0;
  private readonly streams = new Map<number, ChunkStreamState>();
  private buffered = 0;
  /** All bytes ever pushed, for acknowledgements (32-bit wrapping is the caller's concern). */
  bytesReceived = 0;

  constructor(private readonly limits: ChunkLimits = DEFAULT_CHUNK_LIMITS) {}

  /** The peer's current chunk size. */
  get inChunkSize(): number {
    return this.chunkSize;
  }

  /** Parses as many whole messages as `data` completes. Throws ChunkError on a protocol violation. */
  push(data: Buffer): RtmpMessage[] {
    this.bytesReceived += data.length;
    // An incomplete chunk is parsed again only once enough bytes for it are here, so a large
    // chunk arriving in many small pieces costs linear, not quadratic, copying.
    if (this.pending.length + this.queuedBytes + data.length < this.needed) {
      this.queued.push(data);
      this.queuedBytes += data.length;
      return [];
    }
    if (this.pending.length === 0 && this.queued.length === 0) this.pending = data;
    else this.pending = Buffer.concat([this.pending, ...this.queued, data]);
    this.queued = [];
    this.queuedBytes = 0;
    const out: RtmpMessage[] = [];
    let offset = 0;
    for (;;) {
      const consumed = this.parseChunk(this.pending, offset, out);
      if (consumed === 0) break;
      offset += consumed;
    }
    this.pending = offset === this.pending.length ? Buffer.alloc(0) : this.pending.subarray(offset);
    // A header can be at most 18 bytes; more pending than a header plus one chunk is impossible
    // unless the parser is stuck, but the chunk itself is bounded by the chunk size.
    return out;
  }

  /** Notes that the chunk at `offset` needs bytes up to `end`; returns 0 for parseChunk. */
  private short(offset: number, end: number): 0 {
    this.needed = end - offset;
    return 0;
  }

  /** Parses one chunk at `offset`; returns the bytes it used, or 0 when more data is needed. */
  private parseChunk(buf: Buffer, offset: number, out: RtmpMessage[]): number {
    let p = offset;
    if (p >= buf.length) return this.short(offset, p + 1);
    const first = buf[p++]!;
    const fmt = first >> 6;
    let csid = first & 0x3f;
    if (csid === 0) {
      if (p + 1 > buf.length) return this.short(offset, p + 1);
      csid = buf[p++]! + 64;
    } else if (csid === 1) {
      if (p + 2 > buf.length) return this.short(offset, p + 2);
      csid = buf[p]! + buf[p + 1]! * 256 + 64;
      p += 2;
    }

    let state = this.streams.get(csid);
    if (!state) {
      if (fmt !== 0) throw new ChunkError(`chunk stream ${csid} starts without a full header`);
      if (this.streams.size >= this.limits.maxChunkStreams) throw new ChunkError('too many chunk streams');
      state = { timestamp: 0, delta: 0, length: 0, type: 0, streamId: 0, extended: false, data: undefined, received: 0, initialised: false };
    }
    const headerSize = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
    if (p + headerSize > buf.length) return this.short(offset, p + headerSize);

    let timestampField = 0;
    let length = state.length;
    let type = state.type;
    let streamId = state.streamId;
    if (fmt <= 2) timestampField = buf.readUIntBE(p, 3);
    if (fmt <= 1) {
      length = buf.readUIntBE(p + 3, 3);
      type = buf[p + 6]!;
    }
    if (fmt === 0) streamId = buf.readUInt32LE(p + 7);
    p += headerSize;

    const extended = fmt <= 2 ? timestampField === EXTENDED : state.extended;
    let extendedValue = 0;
    if (extended) {
      if (p + 4 > buf.length) return this.short(offset, p + 4);
      extendedValue = buf.readUInt32BE(p);
      p += 4;
    }

    const startsMessage = state.received === 0;
    if (!startsMessage && fmt !== 3) {
      throw new ChunkError(`chunk stream ${csid}: a new message header arrived before the last message was complete`);
    }
    if (startsMessage && length > this.limits.maxMessageSize) {
      throw new ChunkError(`message of ${length} bytes exceeds the limit of ${this.limits.maxMessageSize}`);
    }
    const remaining = length - state.received;
    const take = Math.min(remaining, this.chunkSize);
    if (p + take > buf.length) return this.short(offset, p + take);

    // The whole chunk is here: commit the header to the chunk stream state.
    if (!this.streams.has(csid)) this.streams.set(csid, state);
    if (startsMessage) {
      const value = extended ? extendedValue : timestampField;
      if (fmt === 0) {
        state.timestamp = value;
        // RTMP 1.0, 5.3.1.2.4: a type 3 chunk after a type 0 chunk has the type 0 timestamp as its delta.
        state.delta = value;
      } else if (fmt === 1 || fmt === 2) {
        state.delta = value;
        state.timestamp = (state.timestamp + value) >>> 0;
      } else if (state.initialised) {
        // fmt 3 opening a new message repeats the previous delta.
        state.timestamp = (state.timestamp + state.delta) >>> 0;
      }
      state.length = length;
      state.type = type;
      state.streamId = streamId;
      state.extended = extended;
      state.initialised = true;
    }

    if (take > 0) {
      if (this.buffered + take > this.limits.maxBufferedBytes) throw new ChunkError('too much partial message data');
      const end = state.received + take;
      if (!state.data || state.data.length < end) {
        const grown = Buffer.allocUnsafe(Math.min(state.length, Math.max(end, (state.data?.length ?? 0) * 2)));
        state.data?.copy(grown, 0, 0, state.received);
        state.data = grown;
      }
      buf.copy(state.data, state.received, p, p + take);
      state.received = end;
      this.buffered += take;
    }
    p += take;

    if (state.received === state.length) {
      // The buffer never grows past the message length, so it is exactly the payload.
      const payload = state.data ?? Buffer.alloc(0);
      this.buffered -= state.received;
      state.data = undefined;
      state.received = 0;
      const message: RtmpMessage = { chunkStreamId: csid, timestamp: state.timestamp, type: state.type, streamId: state.streamId, payload };
      this.control(message);
      out.push(message);
    }
    return p - offset;
  }

  /** Messages that change how the following chunks are read take effect here, at once. */
  private control(message: RtmpMessage): void {
    if (message.type === MessageType.SetChunkSize) {
      if (message.payload.length < 4) throw new ChunkError('short SetChunkSize');
      const size = message.payload.readUInt32BE(0) & 0x7fffffff;
      if (size < 1) throw new ChunkError('chunk size 0');
      this.chunkSize = size;
    } else if (message.type === MessageType.Abort) {
      if (message.payload.length < 4) throw new ChunkError('short Abort');
      const state = this.streams.get(message.payload.readUInt32BE(0));
      if (state) {
        this.buffered -= state.received;
        state.data = undefined;
        state.received = 0;
      }
    }
  }
}

export class ChunkEncoder {
  private chunkSize = 128;

  get outChunkSize(): number {
    return this.chunkSize;
  }

  /** Call after sending SetChunkSize, so the following messages are split at the new size. */
  setChunkSize(size: number): void {
    if (size < 1 || size > MAX_CHUNK_SIZE) throw new ChunkError(`invalid chunk size ${size}`);
    this.chunkSize = size;
  }

  /** The chunks of one message: a full (fmt 0) header, then fmt 3 continuations. */
  encode(message: RtmpMessage): Buffer {
    return this.encodeAs(message, message.chunkStreamId, message.streamId);
  }

  /**
   * The chunks of `message` sent on another chunk stream and message stream than its own (a
   * viewer's or a destination's), without making a copy of the message to say so.
   */
  encodeAs(message: RtmpMessage, chunkStreamId: number, streamId: number): Buffer {
    const { payload } = message;
    const csid = chunkStreamId;
    if (payload.length > 0xffffff) throw new ChunkError('message too large for RTMP');
    const basicSize = basicHeaderSize(csid);
    const timestamp = message.timestamp >>> 0;
    const extended = timestamp >= EXTENDED;
    const chunks = Math.max(1, Math.ceil(payload.length / this.chunkSize));
    const extSize = extended ? 4 : 0;
    const size = basicSize + 11 + extSize + payload.length + (chunks - 1) * (basicSize + extSize);
    const out = Buffer.allocUnsafe(size);
    let p = writeBasicHeader(out, 0, 0, csid);
    out.writeUIntBE(extended ? EXTENDED : timestamp, p, 3);
    out.writeUIntBE(payload.length, p + 3, 3);
    out[p + 6] = message.type;
    out.writeUInt32LE(streamId >>> 0, p + 7);
    p += 11;
    if (extended) p = out.writeUInt32BE(timestamp, p);
    for (let i = 0; i < chunks; i++) {
      if (i > 0) {
        p = writeBasicHeader(out, p, 3, csid);
        if (extended) p = out.writeUInt32BE(timestamp, p);
      }
      const start = i * this.chunkSize;
      p += payload.copy(out, p, start, Math.min(payload.length, start + this.chunkSize));
    }
    return out;
  }
}

function basicHeaderSize(csid: number): number {
  if (csid < 2 || csid > 65599) throw new ChunkError(`invalid chunk stream id ${csid}`);
  return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

/** Writes a chunk basic header at `p` (the chunk stream id already checked); returns the offset after it. */
function writeBasicHeader(out: Buffer, p: number, fmt: number, csid: number): number {
  if (csid < 64) {
    out[p] = (fmt << 6) | csid;
    return p + 1;
  }
  if (csid < 320) {
    out[p] = fmt << 6;
    out[p + 1] = csid - 64;
    return p + 2;
  }
  const rest = csid - 64;
  out[p] = (fmt << 6) | 1;
  out[p + 1] = rest & 0xff;
  out[p + 2] = rest >> 8;
  return p + 3;
}
