/**
 * Where the MPEG-TS muxer writes its packets: one growable byte buffer that the packets are
 * written into in place. A live segment is built in one of these, so the steady state costs one
 * allocation per segment instead of one per 188-byte packet; the garbage collector then has a
 * handful of large, short-lived objects to track instead of tens of thousands of small ones that
 * live for a whole segment and get promoted to the old generation.
 */
export class PacketWriter {
  private buffer: Buffer;
  private used = 0;

  /** `capacity`: bytes reserved up front; a segment's writer is sized from the segment before. */
  constructor(capacity = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(Math.max(188, capacity));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.used;
  }

  /**
   * Makes room for `bytes` more and returns the buffer and the offset to write them at. The buffer
   * may be a new one (it doubles when full), so callers write through the returned one at once
   * and keep neither across calls.
   */
  reserve(bytes: number): Buffer {
    const needed = this.used + bytes;
    if (needed > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, this.used);
      this.buffer = grown;
    }
    return this.buffer;
  }

  /** The offset where the next reserved bytes go. */
  get offset(): number {
    return this.used;
  }

  /** Marks `bytes` reserved bytes as written. */
  commit(bytes: number): void {
    this.used += bytes;
  }

  /** Appends bytes as they are. */
  append(bytes: Uint8Array): void {
    this.reserve(bytes.length).set(bytes, this.used);
    this.used += bytes.length;
  }

  /**
   * The bytes written, handed over: the writer starts empty on a new buffer, so what was
   * returned is never written again.
   */
  take(nextCapacity = this.buffer.length): Buffer {
    const out = this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(Math.max(188, nextCapacity));
    this.used = 0;
    return out;
  }
}
