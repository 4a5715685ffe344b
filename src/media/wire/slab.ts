/**
 * Buffers of media size cut from shared slabs rather than each given its own ArrayBuffer: V8
 * answers a stream of new ArrayBuffers (a video frame is 5-20 KB, 30 a second per stream) with
 * frequent full collections, whatever their total size. Small buffers (audio frames, sequence headers,
 * commands) take Node's own pool, so that what a stream keeps for its lifetime does not hold a
 * whole slab; large ones get their own. A slab lives while any buffer cut from it does (a
 * viewer's queue), so a slab holds at most a few seconds of media. A publisher's payloads come
 * from its own arena instead (arena.ts), reused GOP after GOP, and the chunks a live stream
 * writes to its viewers and relays from fan-out memory (fan-out.ts), reused batch after batch.
 */
const SLAB_BYTES = 512 * 1024;
const SLAB_MIN = 1024;
const SLAB_MAX = 128 * 1024;

let slab = Buffer.allocUnsafeSlow(0);
let used = 0;

/** `length` bytes, uninitialised, which share their ArrayBuffer with others of media size. */
export function mediaBuffer(length: number): Buffer {
  if (length < SLAB_MIN || length > SLAB_MAX) return Buffer.allocUnsafe(length);
  if (used + length > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    used = 0;
  }
  const out = slab.subarray(used, used + length);
  // Eight-byte aligned, as Node's pool keeps its slices.
  used += (length + 7) & ~7;
  return out;
}
