/**
 * The newest segments of live streams that HLS players are watching, kept in memory so that the
 * requests of every player at the live edge are answered without touching the blob store. Small
 * and bounded twice: a few segments per stream, and a byte budget over all streams (the oldest
 * go first). Streams nobody plays over HLS keep nothing here.
 */
export class RecentSegments {
  /** Blob key → bytes, oldest first. */
  private readonly segments = new Map<string, Buffer>();
  /** The keys each stream has here, oldest first. */
  private readonly byStream = new Map<string, string[]>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number = 64 * 1024 * 1024,
    private readonly perStream: number = 3,
  ) {}

  /** Bytes held. */
  get size(): number {
    return this.bytes;
  }

  /**
   * Keeps a segment just stored under `key`. The recorder hands over a buffer of its own (its
   * blocks go back to their pool, so it joins them into one), which is kept as it is.
   */
  add(streamId: string, key: string, data: Buffer | readonly Uint8Array[]): void {
    const copy = Buffer.isBuffer(data) ? data : Buffer.concat(data as Uint8Array[]);
    if (copy.length > this.maxBytes) return;
    this.delete(key);
    this.segments.set(key, copy);
    this.bytes += copy.length;
    let keys = this.byStream.get(streamId);
    if (!keys) this.byStream.set(streamId, (keys = []));
    keys.push(key);
    while (keys.length > this.perStream) this.delete(keys[0]!);
    for (const oldest of this.segments.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  get(key: string): Buffer | undefined {
    return this.segments.get(key);
  }

  /** The stream is no longer live here: its segments are served from the blob store from now on. */
  forget(streamId: string): void {
    for (const key of this.byStream.get(streamId) ?? []) this.delete(key);
    this.byStream.delete(streamId);
  }

  private delete(key: string): void {
    const data = this.segments.get(key);
    if (!data) return;
    this.segments.delete(key);
    this.bytes -= data.length;
    for (const [streamId, keys] of this.byStream) {
      const at = keys.indexOf(key);
      if (at < 0) continue;
      keys.splice(at, 1);
      if (keys.length === 0) this.byStream.delete(streamId);
      break;
    }
  }
}
