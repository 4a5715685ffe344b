import type { RtmpMessage } from './messages.js';
import { MessageType } from './messages.js';
import { MediaArena, type PayloadRecycler } from '../arena.js';
import { mediaBuffer } from '../slab.js';

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
   * The bytes of the message being received, copied in straight from the socket's buffers as
   * they come (a chunk split across reads included). It is allocated at the message length up to
   * INITIAL_MESSAGE_BYTES and grown geometrically beyond, so a peer that only declares large
   * messages cannot make the decoder hold more than about twice what it sent. Its first
   * `received` bytes are filled.
   */
  data: Buffer | undefined;
  received: number;
  /** A header has been seen: fmt 1-3 chunks need one before them. */
  initialised: boolean;
}

/** The longest chunk header: 3-byte basic header, 11-byte message header, 4-byte extended timestamp. */
const MAX_HEADER = 18;
/** A message's buffer is allocated whole up to this size; larger ones grow as their bytes come. */
const INITIAL_MESSAGE_BYTES = 256 * 1024;

/**
 * Decodes a chunk stream as it arrives, without joining reads: a chunk's body is copied from the
 * read it came in (or the reads, when it spans several) straight into its message, so every byte
 * is copied once and the steady state allocates only the messages themselves. Only a header split
 * across reads (at most 18 bytes) is held back in a small buffer of its own.
 */
export class ChunkDecoder implements PayloadRecycler {
  private chunkSize = 128;
  /** Where payloads come from once useArena() is called; shared slabs until then. */
  private arena: MediaArena | undefined;
  private readonly kept: Buffer[] = [];
  private readonly streams = new Map<number, ChunkStreamState>();
  private buffered = 0;
  /** The start of a header that the last read cut off. */
  private readonly header = Buffer.allocUnsafe(MAX_HEADER);
  private headerHeld = 0;
  /** The chunk stream whose chunk body is being received, and how many body bytes are still to come. */
  private body: ChunkStreamState | undefined;
  private bodyLeft = 0;
  private bodyCsid = 0;
  /** All bytes ever pushed, for acknowledgements (32-bit wrapping is the caller's concern). */
  bytesReceived = 0;

  constructor(private readonly limits: ChunkLimits = DEFAULT_CHUNK_LIMITS) {}

  /**
   * From now on payloads come from an arena of this decoder's and stay valid only until
   * recycleBefore() passes them: for a publisher, whose live stream says when.
   */
  useArena(): void {
    this.arena ??= new MediaArena();
  }

  /**
   * Payloads come from shared slabs again (the publish ended): the arena is left to the
   * collector, with what still reads from it; nothing in it is reused any more.
   */
  stopArena(): void {
    this.arena = undefined;
  }

  /**
   * Payloads received before `kept` (the earliest one still read) may be reused; a message still
   * being received keeps its own, whenever it began.
   */
  recycleBefore(kept: readonly Buffer[]): void {
    const arena = this.arena;
    if (!arena) return;
    const all = this.kept;
    all.length = 0;
    for (const buffer of kept) all.push(buffer);
    for (const state of this.streams.values()) if (state.data) all.push(state.data);
    arena.recycleBefore(all);
  }

  /** Bytes the arena holds (0 without one). */
  get arenaSize(): number {
    return this.arena?.size ?? 0;
  }

  private allocate(length: number): Buffer {
    return this.arena ? this.arena.allocate(length) : mediaBuffer(length);
  }

  /** The peer's current chunk size. */
  get inChunkSize(): number {
    return this.chunkSize;
  }

  /**
   * Parses as many whole messages as `data` completes, appended to `out` (returned). Throws
   * ChunkError on a protocol violation. Payloads are copies: the caller may reuse `data` (with
   * an arena, they stay valid until recycled).
   */
  push(data: Buffer, out: RtmpMessage[] = []): RtmpMessage[] {
    this.bytesReceived += data.length;
    let p = 0;
    while (p < data.length) {
      if (this.bodyLeft > 0) {
        p = this.receiveBody(data, p, out);
        continue;
      }
      if (this.headerHeld === 0) {
        const used = this.parseHeader(data, p, data.length, out);
        if (used > 0) {
          p += used;
          continue;
        }
        // The header runs past this read: keep its start (less than a header) for the next one.
        data.copy(this.header, 0, p);
        this.headerHeld = data.length - p;
        return out;
      }
      // A header began in an earlier read: complete it from this one.
      const held = this.headerHeld;
      const add = Math.min(MAX_HEADER - held, data.length - p);
      data.copy(this.header, held, p, p + add);
      const used = this.parseHeader(this.header, 0, held + add, out);
      if (used === 0) {
        this.headerHeld = held + add;
        return out;
      }
      this.headerHeld = 0;
      p += used - held;
    }
    return out;
  }

  /** Copies body bytes of the chunk in progress from `data` at `p`; returns where they end. */
  private receiveBody(data: Buffer, p: number, out: RtmpMessage[]): number {
    const state = this.body!;
    const take = Math.min(this.bodyLeft, data.length - p);
    if (this.buffered + take > this.limits.maxBufferedBytes) throw new ChunkError('too much partial message data');
    const end = state.received + take;
    if (state.data!.length < end) {
      const grown = this.allocate(Math.min(state.length, Math.max(end, state.data!.length * 2)));
      state.data!.copy(grown, 0, 0, state.received);
      state.data = grown;
    }
    data.copy(state.data!, state.received, p, p + take);
    state.received = end;
    this.buffered += take;
    this.bodyLeft -= take;
    if (this.bodyLeft === 0) {
      this.body = undefined;
      this.completeIfWhole(this.bodyCsid, state, out);
    }
    return p + take;
  }

  /**
   * Parses one chunk header in `buf` from `offset` to `end` and commits it; returns its length, or
   * 0 when the header needs bytes beyond `end` (then nothing changed).
   */
  private parseHeader(buf: Buffer, offset: number, end: number, out: RtmpMessage[]): number {
    let p = offset;
    if (p >= end) return 0;
    const first = buf[p++]!;
    const fmt = first >> 6;
    let csid = first & 0x3f;
    if (csid === 0) {
      if (p + 1 > end) return 0;
      csid = buf[p++]! + 64;
    } else if (csid === 1) {
      if (p + 2 > end) return 0;
      csid = buf[p]! + buf[p + 1]! * 256 + 64;
      p += 2;
    }

    let state = this.streams.get(csid);
    if (!state) {
      if (fmt !== 0) throw new ChunkError(`chunk stream ${csid} starts without a full header`);
      if (this.streams.size >= this.limits.maxChunkStreams) throw new ChunkError('too many chunk streams');
    }
    const headerSize = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
    if (p + headerSize > end) return 0;

    let timestampField = 0;
    let length = state?.length ?? 0;
    let type = state?.type ?? 0;
    let streamId = state?.streamId ?? 0;
    if (fmt <= 2) timestampField = (buf[p]! << 16) | (buf[p + 1]! << 8) | buf[p + 2]!;
    if (fmt <= 1) {
      length = (buf[p + 3]! << 16) | (buf[p + 4]! << 8) | buf[p + 5]!;
      type = buf[p + 6]!;
    }
    if (fmt === 0) streamId = buf.readUInt32LE(p + 7);
    p += headerSize;

    const extended = fmt <= 2 ? timestampField === EXTENDED : (state?.extended ?? false);
    let extendedValue = 0;
    if (extended) {
      if (p + 4 > end) return 0;
      extendedValue = buf.readUInt32BE(p);
      p += 4;
    }

    // The whole header is here: check it, then commit it to the chunk stream state.
    const startsMessage = state === undefined || state.received === 0;
    if (!startsMessage && fmt !== 3) {
      throw new ChunkError(`chunk stream ${csid}: a new message header arrived before the last message was complete`);
    }
    if (startsMessage && length > this.limits.maxMessageSize) {
      throw new ChunkError(`message of ${length} bytes exceeds the limit of ${this.limits.maxMessageSize}`);
    }
    if (!state) {
      state = { timestamp: 0, delta: 0, length: 0, type: 0, streamId: 0, extended: false, data: undefined, received: 0, initialised: false };
      this.streams.set(csid, state);
    }
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
      if (length > 0) state.data = this.allocate(Math.min(length, INITIAL_MESSAGE_BYTES, this.limits.maxBufferedBytes));
    }
    const take = Math.min(state.length - state.received, this.chunkSize);
    if (take > 0) {
      this.body = state;
      this.bodyCsid = csid;
      this.bodyLeft = take;
    } else {
      this.completeIfWhole(csid, state, out);
    }
    return p - offset;
  }

  private completeIfWhole(csid: number, state: ChunkStreamState, out: RtmpMessage[]): void {
    if (state.received !== state.length) return;
    // The buffer never grows past the message length, so it is exactly the payload.
    const payload = state.data ?? Buffer.alloc(0);
    this.buffered -= state.received;
    state.data = undefined;
    state.received = 0;
    const message: RtmpMessage = { chunkStreamId: csid, timestamp: state.timestamp, type: state.type, streamId: state.streamId, payload };
    this.control(message);
    out.push(message);
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
    const out = mediaBuffer(this.encodedSize(message, chunkStreamId));
    this.encodeInto(out, 0, message, chunkStreamId, streamId);
    return out;
  }

  /** How many bytes `message`'s chunks take on chunk stream `chunkStreamId`. */
  encodedSize(message: RtmpMessage, chunkStreamId: number): number {
    const { length } = message.payload;
    if (length > 0xffffff) throw new ChunkError('message too large for RTMP');
    const basicSize = basicHeaderSize(chunkStreamId);
    const extSize = message.timestamp >>> 0 >= EXTENDED ? 4 : 0;
    const chunks = Math.max(1, Math.ceil(length / this.chunkSize));
    return basicSize + 11 + extSize + length + (chunks - 1) * (basicSize + extSize);
  }

  /**
   * Writes the chunks of `message` into `out` at `offset` (room for encodedSize() bytes), so a
   * batch of messages is chunked into one buffer with no copy of each; returns the offset after them.
   */
  encodeInto(out: Buffer, offset: number, message: RtmpMessage, chunkStreamId: number, streamId: number): number {
    const { payload } = message;
    const csid = chunkStreamId;
    const timestamp = message.timestamp >>> 0;
    const extended = timestamp >= EXTENDED;
    const chunks = Math.max(1, Math.ceil(payload.length / this.chunkSize));
    let p = writeBasicHeader(out, offset, 0, csid);
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
      const end = Math.min(payload.length, start + this.chunkSize);
      // set(), not copy(): Node 20's copy() validates and cuts a view for every call; a message in
      // one chunk (every audio frame) needs no view at all.
      out.set(end - start === payload.length ? payload : payload.subarray(start, end), p);
      p += end - start;
    }
    return p;
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
