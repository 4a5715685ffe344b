/** A segment held, with its place in its stream. */
interface Held {
  streamId: string;
  sequence: number;
  data: Buffer;
}

/**
 * The newest segments of live streams that HLS players are watching, kept in memory so that the
 * requests of every player at the live edge are answered without touching the blob store. Small
 * and bounded twice: a few segments per stream (the newest by sequence number, however they
 * came: stored just now, or read back from the store for a player that asked for one), and a
 * byte budget over all streams (the segments held longest go first). Streams nobody plays over
 * HLS keep nothing here.
 */
export class RecentSegments {
  /** Blob key → segment, in the order they came. */
  private readonly segments = new Map<string, Held>();
  /** The keys each stream has here, by sequence number, lowest first. */
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
   * Keeps segment `sequence` of a stream, stored under `key`. The recorder hands over a buffer of
   * its own (its blocks go back to their pool, so it joins them into one), which is kept as it is.
   * A segment older than every one the stream already holds, with no room left, is not kept.
   */
  add(streamId: string, key: string, sequence: number, data: Buffer | readonly Uint8Array[]): void {
    const copy = Buffer.isBuffer(data) ? data : Buffer.concat(data as Uint8Array[]);
    if (copy.length > this.maxBytes) return;
    this.delete(key);
    let keys = this.byStream.get(streamId);
    if (!keys) this.byStream.set(streamId, (keys = []));
    let at = keys.length;
    while (at > 0 && this.segments.get(keys[at - 1]!)!.sequence > sequence) at--;
    if (at === 0 && keys.length >= this.perStream) return;
    keys.splice(at, 0, key);
    this.segments.set(key, { streamId, sequence, data: copy });
    this.bytes += copy.length;
    while (keys.length > this.perStream) this.delete(keys[0]!);
    for (const oldest of this.segments.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  get(key: string): Buffer | undefined {
    return this.segments.get(key)?.data;
  }

  /** The stream is no longer live here: its segments are served from the blob store from now on. */
  forget(streamId: string): void {
    for (const key of this.byStream.get(streamId) ?? []) this.delete(key);
    this.byStream.delete(streamId);
  }

  private delete(key: string): void {
    const held = this.segments.get(key);
    if (!held) return;
    this.segments.delete(key);
    this.bytes -= held.data.length;
    const keys = this.byStream.get(held.streamId);
    const at = keys?.indexOf(key) ?? -1;
    if (keys && at >= 0) keys.splice(at, 1);
    if (keys?.length === 0) this.byStream.delete(held.streamId);
  }
}
