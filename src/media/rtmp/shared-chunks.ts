import { ChunkEncoder } from '../wire/rtmp/chunks.js';
import type { RtmpMessage } from '../wire/rtmp/messages.js';
import { fanOutBuffer, fanOutNow } from '../wire/fan-out.js';

/** The chunk stream a sender puts a message on. */
export type ChunkStreamOf = (message: RtmpMessage) => number;

/** Viewers are sent each message on the chunk stream its publisher used. */
export const asPublished: ChunkStreamOf = (message) => message.chunkStreamId;

/** One way of chunking a message or a batch, and its bytes. */
interface Framing {
  chunkSize: number;
  /** The chunk stream id of a message's framing, the function that gave them for a batch's. */
  chunkStream: number | ChunkStreamOf;
  streamId: number;
  bytes: Buffer;
  /** The fan-out whose memory holds the bytes (they are good only during it), or 0: their own. */
  fanOut: number;
}

/**
 * The chunked bytes of each live message or batch of messages, kept with it for as long as it
 * lives: every viewer of a stream (and every destination of its relays) that chunks it alike is
 * written the same Buffer, so fanning out to N connections costs one copy, not N. Viewers and
 * destinations frame a message differently (their own message stream id and chunk streams),
 * hence a couple of framings per message; a message nobody watches is never chunked at all.
 * Keys are compared by identity: a chunk stream function shared by all senders alike (such as
 * `asPublished`) is what lets them share bytes.
 */
const framings = new WeakMap<object, Framing[]>();
const MAX_FRAMINGS = 2;
const encoder = new ChunkEncoder();

function known(key: object, chunkSize: number, chunkStream: number | ChunkStreamOf, streamId: number): Framing[] | Buffer {
  const list = framings.get(key);
  if (!list) {
    const fresh: Framing[] = [];
    framings.set(key, fresh);
    return fresh;
  }
  for (const f of list) {
    if (f.chunkSize === chunkSize && f.chunkStream === chunkStream && f.streamId === streamId && (f.fanOut === 0 || f.fanOut === fanOutNow())) return f.bytes;
  }
  return list;
}

function remember(list: Framing[], framing: Framing): Buffer {
  if (list.length >= MAX_FRAMINGS) list.shift();
  list.push(framing);
  return framing.bytes;
}

function encode(message: RtmpMessage, chunkSize: number, chunkStreamId: number, streamId: number): Buffer {
  if (encoder.outChunkSize !== chunkSize) encoder.setChunkSize(chunkSize);
  return encoder.encodeAs(message, chunkStreamId, streamId);
}

/**
 * `message` as chunks of `chunkSize` on chunk stream `chunkStreamId` and message stream
 * `streamId`. The Buffer is shared: whoever writes it must not change it (a socket write never does).
 */
export function sharedChunks(message: RtmpMessage, chunkSize: number, chunkStreamId: number, streamId: number): Buffer {
  const found = known(message, chunkSize, chunkStreamId, streamId);
  if (Buffer.isBuffer(found)) return found;
  return remember(found, { chunkSize, chunkStream: chunkStreamId, streamId, bytes: encode(message, chunkSize, chunkStreamId, streamId), fanOut: 0 });
}

/**
 * The messages of `batch`, in order, as one Buffer of chunks (each message starts with a full
 * header, so their chunks simply follow one another): one socket write per connection for the
 * whole batch, the bytes made once for all connections framing it alike. Shared as sharedChunks'.
 * During a live stream's fan-out the bytes are cut from fan-out memory (fan-out.ts), reused by
 * the next batch: whoever writes them calls wrote() right after, so bytes a connection queued
 * are kept.
 */
export function sharedBatchChunks(batch: readonly RtmpMessage[], chunkSize: number, chunkStreamOf: ChunkStreamOf, streamId: number): Buffer {
  const found = known(batch, chunkSize, chunkStreamOf, streamId);
  if (Buffer.isBuffer(found)) return found;
  // Each message is chunked straight into the batch's one buffer (not kept with the message: a
  // message outlives its batch only in the GOP cache, where it is framed again for a newcomer).
  if (encoder.outChunkSize !== chunkSize) encoder.setChunkSize(chunkSize);
  let size = 0;
  for (const m of batch) size += encoder.encodedSize(m, chunkStreamOf(m));
  const bytes = fanOutBuffer(size);
  let p = 0;
  for (const m of batch) p = encoder.encodeInto(bytes, p, m, chunkStreamOf(m), streamId);
  return remember(found, { chunkSize, chunkStream: chunkStreamOf, streamId, bytes, fanOut: fanOutNow() });
}
