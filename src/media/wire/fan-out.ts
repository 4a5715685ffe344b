import { mediaBuffer } from './slab.js';

/**
 * The memory of the bytes a live stream writes to its viewers and relays. Each batch of a
 * stream's messages is chunked once into one Buffer that every connection framing it alike is
 * written (shared-chunks.ts). A socket write normally hands those bytes to the kernel before it
 * returns: then nobody reads the Buffer once the fan-out is over, and the next batch can be
 * chunked into the same memory. Only a connection that queues them (a slow reader, a socket
 * still connecting) keeps them, and then they are left alone until the collector takes them.
 *
 * Why not let the collector take them all: 10 batches a second per stream (a relay's or a
 * viewer's bytes, 3 MB/s at 10 streams) are ArrayBuffers V8 frees only in a full collection,
 * which it starts every few seconds under that flow of external memory: measured on 10 streams
 * × 2 relays, a major collection every 5 s. Reused, they cost no allocation at all.
 */
const BUFFER_BYTES = 512 * 1024;
/** A larger batch (a newcomer's whole GOP, say) gets memory of its own, as before. */
const MAX_REUSED = 256 * 1024;

let buffer: Buffer | undefined;
let used = 0;
let inFanOut = false;
/** Counts fan-outs, so bytes cut from fan-out memory are known to be good only during their own. */
let generation = 0;
/** Some bytes cut during this fan-out were queued by a connection: they must not be written over. */
let held = false;

/**
 * Runs `write`, in which the bytes of one batch are chunked and written to every connection,
 * with fanOutBuffer() giving memory that is reused after it unless a write kept it (see wrote()).
 */
export function fanOut(write: () => void): void {
  if (inFanOut) {
    write();
    return;
  }
  const startBuffer = buffer;
  const start = used;
  inFanOut = true;
  held = false;
  generation++;
  try {
    write();
  } finally {
    inFanOut = false;
    // Nothing read what was cut during the fan-out once it returned: it is free again. When the
    // buffer filled up and another was taken, only this fan-out used the new one.
    if (!held) used = buffer === startBuffer ? start : 0;
  }
}

/**
 * `length` bytes, uninitialised, for chunks written to connections during the current fan-out:
 * reused after it unless a writer reported with wrote() that a connection queued them. Outside
 * a fan-out, or too large, the memory is the buffer's own.
 */
export function fanOutBuffer(length: number): Buffer {
  if (!inFanOut || length > MAX_REUSED) return mediaBuffer(length);
  if (!buffer || used + length > buffer.length) {
    buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
    used = 0;
  }
  const out = buffer.subarray(used, used + length);
  // Eight-byte aligned, as Node's pool keeps its slices.
  used += (length + 7) & ~7;
  return out;
}

/**
 * The fan-out in progress, or 0 outside one: bytes cut from fan-out memory during fan-out `n`
 * may be read again only while fanOutNow() is still `n`.
 */
export function fanOutNow(): number {
  return inFanOut ? generation : 0;
}

/**
 * Tells the fan-out that `stream` was just written bytes from fanOutBuffer(). Anything still
 * queued on it (this write or an earlier one in front of it) means the kernel has not taken
 * those bytes: the memory is kept. Checked right after the write, when Node has either handed
 * the whole write to the kernel (nothing queued) or kept it.
 */
export function wrote(stream: { readonly writableLength: number }): void {
  if (inFanOut && stream.writableLength > 0) held = true;
}
