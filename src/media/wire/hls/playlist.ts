/**
 * HLS media playlists (RFC 8216): the live sliding window players poll, and the VOD playlist of
 * a whole broadcast kept as its recording. Segment URIs are the caller's (relative names such as
 * `seg-00042.ts`, or absolute URLs).
 */

/** One segment as a playlist lists it. */
export interface PlaylistEntry {
  /** Media sequence number. */
  sequence: number;
  uri: string;
  /** Seconds. */
  duration: number;
  /** An #EXT-X-DISCONTINUITY goes before this segment. */
  discontinuity: boolean;
}

export interface LivePlaylistOptions {
  /** How many #EXT-X-DISCONTINUITY tags went out of the window before its first segment. Default 0. */
  discontinuitySequence?: number;
  /**
   * #EXT-X-TARGETDURATION, which must never change during a live broadcast; by default the ceiling
   * of the longest segment given.
   */
  targetDuration?: number;
  /** The broadcast is over: #EXT-X-ENDLIST tells players no more segments will come. */
  ended?: boolean;
  /** #EXT-X-MEDIA-SEQUENCE when the window is empty. Default 0. */
  mediaSequence?: number;
}

/** EXTINF durations are written with 3 decimals; the target is compared with what is written. */
function written(duration: number): number {
  return Math.round(duration * 1000) / 1000;
}

/** The ceiling of the longest segment, at least 1 (RFC 8216 4.3.3.1: EXTINF <= target). */
export function targetDurationOf(entries: readonly Pick<PlaylistEntry, 'duration'>[]): number {
  let longest = 0;
  for (const entry of entries) longest = Math.max(longest, written(entry.duration));
  return Math.max(1, Math.ceil(longest));
}

function segmentLines(entries: readonly PlaylistEntry[]): string[] {
  const lines: string[] = [];
  for (const entry of entries) {
    if (entry.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${written(entry.duration).toFixed(3)},`, entry.uri);
  }
  return lines;
}

function text(lines: string[]): string {
  return lines.join('\n') + '\n';
}

/** A live playlist of the segments in the window, oldest first. */
export function renderLivePlaylist(window: readonly PlaylistEntry[], options: LivePlaylistOptions = {}): string {
  const discontinuitySequence = options.discontinuitySequence ?? 0;
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${options.targetDuration ?? targetDurationOf(window)}`,
    `#EXT-X-MEDIA-SEQUENCE:${window[0]?.sequence ?? options.mediaSequence ?? 0}`,
  ];
  if (discontinuitySequence > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuitySequence}`);
  lines.push(...segmentLines(window));
  if (options.ended) lines.push('#EXT-X-ENDLIST');
  return text(lines);
}

/** A VOD playlist of every segment of a broadcast. */
export function renderVodPlaylist(entries: readonly PlaylistEntry[], options: { targetDuration?: number } = {}): string {
  return text([
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    `#EXT-X-TARGETDURATION:${options.targetDuration ?? targetDurationOf(entries)}`,
    `#EXT-X-MEDIA-SEQUENCE:${entries[0]?.sequence ?? 0}`,
    ...segmentLines(entries),
    '#EXT-X-ENDLIST',
  ]);
}

/**
 * An EVENT playlist of a broadcast: every segment from its first, growing while it is live, and
 * #EXT-X-ENDLIST appended once it ended. RFC 8216 lets an EVENT playlist change only by
 * appending, so one URL serves the broadcast live (players start near the live edge and may seek
 * back to the start) and, unchanged but for the end tag, as the whole recording afterwards.
 */
export function renderEventPlaylist(entries: readonly PlaylistEntry[], options: { ended: boolean; targetDuration?: number }): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-PLAYLIST-TYPE:EVENT',
    `#EXT-X-TARGETDURATION:${options.targetDuration ?? targetDurationOf(entries)}`,
    `#EXT-X-MEDIA-SEQUENCE:${entries[0]?.sequence ?? 0}`,
    ...segmentLines(entries),
  ];
  if (options.ended) lines.push('#EXT-X-ENDLIST');
  return text(lines);
}

/**
 * The live window: keeps the last `size` segments, counts the discontinuities that leave it, and
 * holds the target duration steady (it only grows, as a segment longer than any before arrives).
 */
export class LivePlaylist {
  private readonly entries: PlaylistEntry[] = [];
  private discontinuitySequence = 0;
  private targetDuration = 1;
  private ended = false;
  /** The text as last rendered: every player polls it, and it changes only when a segment is added. */
  private rendered: string | undefined;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('a live playlist window holds at least one segment');
  }

  get segments(): readonly PlaylistEntry[] {
    return this.entries;
  }

  /** Adds the newest segment; returns the segments that left the window (the caller may delete them). */
  add(entry: PlaylistEntry): PlaylistEntry[] {
    this.entries.push({ sequence: entry.sequence, uri: entry.uri, duration: entry.duration, discontinuity: entry.discontinuity });
    this.targetDuration = Math.max(this.targetDuration, targetDurationOf([entry]));
    const removed = this.entries.splice(0, Math.max(0, this.entries.length - this.size));
    for (const gone of removed) if (gone.discontinuity) this.discontinuitySequence++;
    this.rendered = undefined;
    return removed;
  }

  /** Marks the broadcast over: the playlist gets #EXT-X-ENDLIST. */
  end(): void {
    this.ended = true;
    this.rendered = undefined;
  }

  render(): string {
    return (this.rendered ??= renderLivePlaylist(this.entries, {
      discontinuitySequence: this.discontinuitySequence,
      targetDuration: this.targetDuration,
      ended: this.ended,
    }));
  }
}
