import type { BlobStore } from '../../blob/blob-store.js';
import type { Broadcast, BroadcastService } from '../../core/broadcasts/broadcasts.js';
import { segmentFileName } from '../../media/hls/recorder.js';
import type { PlaylistEntry } from '../../media/wire/hls/playlist.js';

/*
 * What every HLS route shares: the media types, a broadcast's recorded segments as playlist
 * entries, a segment's bytes, and a token carried on every URI of a playlist.
 */

export const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
export const SEGMENT_FILE = /^seg-(\d{5,})\.ts$/;

/** A broadcast's recorded segments as playlist entries, each URI `uriPrefix` then its file name. */
export async function recordedEntries(broadcasts: Pick<BroadcastService, 'recording'>, broadcast: Broadcast, uriPrefix: string): Promise<PlaylistEntry[]> {
  const recording = await broadcasts.recording(broadcast);
  return recording.segments.map((s) => ({
    sequence: s.sequence,
    uri: `${uriPrefix}${segmentFileName(s.sequence)}`,
    duration: s.duration,
    discontinuity: s.discontinuity,
  }));
}

/**
 * A segment of a broadcast: where the media plane keeps it, else (an uploaded one, kept under
 * another blob key) found through the recording. Undefined when there is none of that name.
 */
export async function openSegment(
  blobs: BlobStore,
  broadcasts: Pick<BroadcastService, 'get' | 'segment'>,
  streamId: string,
  broadcastId: string,
  file: string,
): Promise<{ stream: NodeJS.ReadableStream; size: number } | undefined> {
  const own = await blobs.open(`hls/${streamId.toLowerCase()}/${broadcastId.toLowerCase()}/${file}`);
  if (own) return own;
  const broadcast = await broadcasts.get(streamId.toLowerCase(), broadcastId);
  const sequence = Number(SEGMENT_FILE.exec(file)?.[1]);
  const segment = broadcast && Number.isSafeInteger(sequence) ? await broadcasts.segment(broadcast, sequence) : undefined;
  return segment ? blobs.open(segment.blobKey) : undefined;
}

/** Every URI line of a playlist with `prefix` before it and `?token=` after it (when a token is given). */
export function rewriteUris(playlist: string, options: { prefix?: string; token?: string | undefined }): string {
  if (options.token === undefined && !options.prefix) return playlist;
  const query = options.token === undefined ? '' : `?token=${encodeURIComponent(options.token)}`;
  return playlist
    .split('\n')
    .map((line) => (line === '' || line.startsWith('#') ? line : `${options.prefix ?? ''}${line}${query}`))
    .join('\n');
}
