/**
 * The memory of one publisher's message payloads, handed out in order from chunks that are used
 * again once nothing cut from them is needed. A live stream keeps its payloads only until the
 * next keyframe (its GOP cache); every other consumer copies what it keeps (TS packets, chunked
 * bytes for viewers) before its call returns. So when a new GOP starts, every chunk filled before
 * the keyframe's own is free, and the steady state of a publisher allocates no new memory at all.
 *
 * Why not let the collector take them: V8 frees a long-lived ArrayBuffer only in a full
 * collection, which it starts when some 64 MiB of external memory has been allocated since the
 * last one, whatever is still alive. Cut from shared slabs, the payloads of 20 streams (6 MB/s)
 * kept that much dead memory around most of the time: more than the live GOPs themselves.
 */

/** Chunk size: a few per GOP of a typical stream, so little is held past the GOP. Larger payloads get a buffer of their own. */
const CHUNK_BYTES = 128 * 1024;

/** Who hands out payloads from an arena, told which of them are still read. */
export interface PayloadRecycler {
  /** Payloads handed out before the earliest of `kept` are no longer read by anyone. */
  recycleBefore(kept: readonly Buffer[]): void;
}

interface Region {
  bytes: Buffer;
  /** Whether the region is a chunk of CHUNK_BYTES that goes back to the spares when recycled. */
  reusable: boolean;
}

export class MediaArena {
  /** Regions handed out from, oldest first; the last is the one being filled. */
  private readonly regions: Region[] = [];
  private used = 0;
  private readonly spare: Buffer[] = [];

  /** `length` bytes, uninitialised, valid until recycleBefore() passes them. */
  allocate(length: number): Buffer {
    if (length > CHUNK_BYTES) {
      const bytes = Buffer.allocUnsafeSlow(length);
      // Nothing more is cut from a region of its own: the next payload opens a chunk.
      this.regions.push({ bytes, reusable: false });
      return bytes;
    }
    let current = this.regions[this.regions.length - 1];
    if (!current || !current.reusable || this.used + length > CHUNK_BYTES) {
      current = { bytes: this.spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES), reusable: true };
      this.regions.push(current);
      this.used = 0;
    }
    const out = current.bytes.subarray(this.used, this.used + length);
    // Eight-byte aligned, as Node's pool keeps its slices.
    this.used += (length + 7) & ~7;
    return out;
  }

  /**
   * Every region filled before the earliest of `kept` is free again: whatever was cut from them is
   * no longer read. Buffers not from this arena (or already recycled) in `kept` are ignored; with
   * none from it, nothing is recycled.
   */
  recycleBefore(kept: readonly Uint8Array[]): void {
    // Called for every message: plain loops, nothing allocated unless regions are freed.
    const regions = this.regions;
    let first = regions.length;
    for (let k = 0; k < kept.length; k++) {
      const memory = kept[k]!.buffer;
      for (let at = 0; at < first; at++) {
        if (regions[at]!.bytes.buffer === memory) {
          first = at;
          break;
        }
      }
    }
    if (first === regions.length || first === 0) return;
    for (const region of regions.splice(0, first)) {
      if (region.reusable) this.spare.push(region.bytes);
    }
  }

  /** Bytes the arena holds, in use or spare. */
  get size(): number {
    let bytes = this.spare.length * CHUNK_BYTES;
    for (const r of this.regions) bytes += r.bytes.length;
    return bytes;
  }
}
