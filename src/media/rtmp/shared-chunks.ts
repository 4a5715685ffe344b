import { ChunkEncoder } from '../wire/rtmp/chunks.js';
import type { RtmpMessage } from '../wire/rtmp/messages.js';

/** One way of chunking a message, and its bytes. */
interface Framing {
  chunkSize: number;
  chunkStreamId: number;
  streamId: number;
  bytes: Buffer;
}

/**
 * The chunked bytes of each live message, kept with the message for as long as it lives: every
 * viewer of a stream (and every destination of its relays) that chunks it alike is written the
 * same Buffer, so fanning a message out to N connections costs one copy, not N. Viewers and
 * destinations frame a message differently (their own message stream id and chunk stream), hence
 * a couple of framings per message; a message nobody watches is never chunked at all.
 */
const framings = new WeakMap<RtmpMessage, Framing[]>();
const MAX_FRAMINGS = 2;
const encoder = new ChunkEncoder();

/**
 * `message` as chunks of `chunkSize` on `chunkStreamId` and message stream `streamId`. The Buffer
 * is shared: whoever writes it must not change it (a socket write never does).
 */
export function sharedChunks(message: RtmpMessage, chunkSize: number, chunkStreamId: number, streamId: number): Buffer {
  let known = framings.get(message);
  if (known) {
    for (const f of known) {
      if (f.chunkSize === chunkSize && f.chunkStreamId === chunkStreamId && f.streamId === streamId) return f.bytes;
    }
  } else {
    known = [];
    framings.set(message, known);
  }
  if (encoder.outChunkSize !== chunkSize) encoder.setChunkSize(chunkSize);
  const bytes = encoder.encodeAs(message, chunkStreamId, streamId);
  if (known.length >= MAX_FRAMINGS) known.shift();
  known.push({ chunkSize, chunkStreamId, streamId, bytes });
  return bytes;
}
