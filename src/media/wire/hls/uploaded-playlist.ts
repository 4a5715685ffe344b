/**
 * Reads the HLS media playlists a broadcaster uploads (the live `index.m3u8` snapshots and the
 * final `vod.m3u8`): which segments they name, how long each is, and where a discontinuity is.
 * Only what the ingest needs; unknown tags are skipped, as RFC 8216 asks of clients.
 */

/** A segment as an uploaded playlist lists it. */
export interface ListedSegment {
  /** The file name within the upload prefix (the URI without query or folders). */
  name: string;
  /** Seconds, from #EXTINF. */
  duration: number;
  /** An #EXT-X-DISCONTINUITY precedes it. */
  discontinuity: boolean;
}

export interface UploadedPlaylist {
  segments: ListedSegment[];
  /** #EXT-X-ENDLIST: the broadcaster will add nothing more. */
  ended: boolean;
}

export class PlaylistFormatError extends Error {
  override readonly name = 'PlaylistFormatError';
}

/** The longest EXTINF believed; a longer one is a broken playlist, not a segment. */
const MAX_SEGMENT_SECONDS = 3600;

/** Parses a media playlist; throws PlaylistFormatError when it is not one. */
export function parseUploadedPlaylist(text: string): UploadedPlaylist {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).map((line) => line.trim());
  if (lines[0] !== '#EXTM3U') throw new PlaylistFormatError('not an HLS playlist: it must begin with #EXTM3U');
  const segments: ListedSegment[] = [];
  let ended = false;
  let duration: number | undefined;
  let discontinuity = false;
  for (const [index, line] of lines.entries()) {
    if (index === 0 || line === '') continue;
    if (line.startsWith('#')) {
      if (line.startsWith('#EXTINF:')) {
        const value = Number(line.slice('#EXTINF:'.length).split(',')[0]);
        if (!Number.isFinite(value) || value < 0 || value > MAX_SEGMENT_SECONDS) {
          throw new PlaylistFormatError(`line ${index + 1}: bad #EXTINF duration`);
        }
        duration = value;
      } else if (line === '#EXT-X-DISCONTINUITY') {
        discontinuity = true;
      } else if (line === '#EXT-X-ENDLIST') {
        ended = true;
      } else if (line.startsWith('#EXT-X-STREAM-INF')) {
        throw new PlaylistFormatError('a master playlist: a media playlist was expected');
      }
      continue;
    }
    if (duration === undefined) throw new PlaylistFormatError(`line ${index + 1}: a segment URI without #EXTINF`);
    segments.push({ name: fileNameOf(line), duration, discontinuity });
    duration = undefined;
    discontinuity = false;
  }
  return { segments, ended };
}

/** `index3.ts`, `./index3.ts`, `https://host/a/b/index3.ts?x=1` all name `index3.ts`. */
function fileNameOf(uri: string): string {
  const path = uri.split(/[?#]/)[0] ?? '';
  return path.slice(path.lastIndexOf('/') + 1);
}

const SEGMENT_NAME = /^index(\d{1,9})\.ts$/;

/** The sequence number of an SDK segment name (`index<N>.ts`), or undefined for any other name. */
export function segmentSequenceOf(name: string): number | undefined {
  const match = SEGMENT_NAME.exec(name);
  return match ? Number(match[1]) : undefined;
}
