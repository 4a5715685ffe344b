/**
 * Where the MPEG-TS muxer writes its packets: one growable byte buffer that the packets are
 * written into in place. A live segment is built in one of these, so the steady state costs one
 * allocation per segment instead of one per 188-byte packet; the garbage collector then has a
 * handful of large, short-lived objects to track instead of tens of thousands of small ones that
 * live for a whole segment and get promoted to the old generation.
 */
export class PacketWriter implements PacketSink {
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

/** Where the muxer's packets go: a PacketWriter, or a BlockWriter for the live path. */
export interface PacketSink {
  reserve(bytes: number): Buffer;
  readonly offset: number;
  commit(bytes: number): void;
}

/**
 * Fixed-size buffers handed out and taken back, shared by every stream of a process: a live
 * segment is cut into blocks from here, each written out as soon as it is full and then given
 * back, so a stream holds about one block of its segment in memory instead of the whole segment,
 * and the steady state allocates nothing. Keeps at most `maxFree` blocks for reuse.
 */
export class BlockPool {
  private readonly free: Buffer[] = [];

  constructor(
    /** Bytes per block: a whole number of TS packets, so no packet straddles two blocks. */
    // About 94 KiB: seven writes per 2 s segment at 2.5 Mbit/s. Each write costs a trip through
    // the thread pool, so much smaller blocks cost more CPU than they save; every stream holds the
    // block it fills and the pool keeps the spares, so much larger ones cost memory per stream.
    readonly blockBytes: number = 512 * 188,
    private readonly maxFree = 16,
  ) {
    if (blockBytes < 188 || blockBytes % 188 !== 0) throw new RangeError('blockBytes must be a multiple of 188');
  }

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.blockBytes);
  }

  /** Takes a block back once nothing reads it any more. */
  give(block: Buffer): void {
    if (block.buffer.byteLength === this.blockBytes && block.byteOffset === 0 && this.free.length < this.maxFree) {
      this.free.push(Buffer.from(block.buffer, 0, this.blockBytes));
    }
  }
}

/**
 * TS packets written into blocks from a BlockPool: full blocks wait in `filled` to be taken (and
 * written out) by the caller, the block being filled stays here.
 */
export class BlockWriter implements PacketSink {
  private block: Buffer | undefined;
  private used = 0;
  private readonly filled: Buffer[] = [];
  /** Bytes written since the last takeAll(). */
  private bytes = 0;

  constructor(readonly pool: BlockPool) {}

  get length(): number {
    return this.bytes;
  }

  reserve(bytes: number): Buffer {
    if (bytes > this.pool.blockBytes) throw new RangeError(`${bytes} bytes do not fit a block`);
    if (this.block === undefined) {
      this.block = this.pool.take();
      this.used = 0;
    } else if (this.used + bytes > this.block.length) {
      this.filled.push(this.block.subarray(0, this.used));
      this.block = this.pool.take();
      this.used = 0;
    }
    return this.block;
  }

  get offset(): number {
    return this.used;
  }

  commit(bytes: number): void {
    this.used += bytes;
    this.bytes += bytes;
  }

  /** The full blocks so far, handed over (to be written out, then given back to the pool). */
  takeFilled(): Buffer[] {
    return this.filled.length === 0 ? NONE : this.filled.splice(0);
  }

  /** Everything written and not yet taken, the block in progress included; starts over empty. */
  takeAll(): Buffer[] {
    const out = this.filled.splice(0);
    if (this.block !== undefined && this.used > 0) out.push(this.block.subarray(0, this.used));
    else if (this.block !== undefined) this.pool.give(this.block);
    this.block = undefined;
    this.used = 0;
    this.bytes = 0;
    return out;
  }
}

const NONE: Buffer[] = [];
