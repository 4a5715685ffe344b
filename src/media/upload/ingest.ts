import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../../blob/blob-store.js';
import type { BroadcastService } from '../../core/broadcasts/broadcasts.js';
import { NotFoundError, ValidationError } from '../../core/kernel/errors.js';
import type { BroadcastId, StreamId } from '../../core/kernel/ids.js';
import type { UploadObjectService } from '../../core/uploads/objects.js';
import { parseUploadedPlaylist, PlaylistFormatError, segmentSequenceOf, type ListedSegment, type UploadedPlaylist } from '../wire/hls/uploaded-playlist.js';

/** Where a broadcaster may write: its stream, and the bucket prefix its credentials cover. */
export interface UploadScope {
  streamId: StreamId;
  /** '<app>/<username>/<stream_id>/': ends with '/'. */
  prefix: string;
}

/** An uploaded object as a GET answers it. */
export interface StoredObject {
  stream: Readable;
  size: number;
  contentType: string;
  cacheControl?: string;
  /** md5 of the bytes in hex, without the quotes S3 puts around it in headers. */
  etag: string;
  /** ISO-8601 UTC. */
  lastModified: string;
}

export interface UploadMeta {
  contentType?: string;
  cacheControl?: string;
  /** The canned ACL public-read: anyone may GET the object. */
  publicRead: boolean;
}

/** The live playlist the SDKs rewrite after each segment, and the one they upload last. */
const LIVE_PLAYLIST = 'index.m3u8';
const VOD_PLAYLIST = 'vod.m3u8';
const MAX_NAME_BYTES = 1024;
/** A name stored under its own name in the blob store: one plain path segment. */
const PLAIN_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

const CONTENT_TYPES: Record<string, string> = {
  ts: 'video/mp2t',
  m3u8: 'application/vnd.apple.mpegurl',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  mp4: 'video/mp4',
  aac: 'audio/aac',
};

/** What S3 answers for an object stored without a type. */
const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

function contentTypeOf(name: string, given: string | undefined): string {
  if (given !== undefined && given.trim() !== '') return given.trim();
  const extension = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  return CONTENT_TYPES[extension] ?? DEFAULT_CONTENT_TYPE;
}

/** Uploaded names are arbitrary S3 keys; blob keys are plain paths, so other names go by their digest. */
function blobKeyOf(streamId: StreamId, name: string): string {
  if (PLAIN_NAME.test(name)) return `uploads/${streamId}/o/${name}`;
  return `uploads/${streamId}/h/${createHash('sha256').update(name).digest('hex')}`;
}

/**
 * What happens to the files a broadcaster uploads (Kickflip's SDKs: `index<N>.ts` segments, an
 * `index.m3u8` snapshot after each, `thumb.jpg`, and `vod.m3u8` last). Every object is kept
 * through the blob store with what a GET answers about it; the playlists turn the segments into
 * a broadcast and its recording:
 *
 * - the first playlist starts a broadcast of the stream, which every later upload of the stream
 *   feeds, even after `stream/stop` ended it (the SDKs finish uploading after stop);
 * - a segment `index<N>.ts` becomes recorded segment N once it is stored and a playlist gave its
 *   duration, whichever of the two arrives first; each is recorded once;
 * - `vod.m3u8` records whatever it names that is not yet recorded, and ends the broadcast if
 *   stop has not.
 *
 * Refusals, for the S3 endpoint to turn into S3 errors: a playlist while an RTMP publisher holds
 * the stream (InUseError: one source per broadcast), a playlist that is not an HLS media
 * playlist (ValidationError), an unknown or deleted stream (NotFoundError). A refused upload
 * stores nothing.
 *
 * Uploads of one stream are handled one at a time on this node, so concurrent PUTs cannot both
 * start a broadcast or record one segment twice; across nodes, the database's one-open-broadcast
 * index and the segments' primary key keep the same promises.
 */
export class UploadIngest {
  private readonly queues = new Map<StreamId, Promise<unknown>>();

  constructor(
    private readonly core: { uploadObjects: UploadObjectService; broadcasts: Pick<BroadcastService, 'get' | 'recording' | 'endIfCurrent'> },
    private readonly blobs: BlobStore,
  ) {}

  /** Stores `body` as `<prefix><name>` and applies what it means to the stream's broadcast. */
  put(scope: UploadScope, name: string, body: Buffer, meta: UploadMeta): Promise<{ etag: string }> {
    if (name === '' || name.startsWith('/') || Buffer.byteLength(scope.prefix + name) > MAX_NAME_BYTES) {
      return Promise.reject(new ValidationError('Invalid object name', { key: 'must be 1 to 1024 bytes and not begin with /' }));
    }
    return this.serially(scope.streamId, () => this.apply(scope, name, body, meta));
  }

  /** The object at `bucketKey` when anyone may read it: uploaded public-read, of a public stream that exists. */
  async get(bucketKey: string): Promise<StoredObject | undefined> {
    // An upload may replace the object between reading its row and opening its bytes: look again once.
    for (let attempt = 0; attempt < 2; attempt++) {
      const object = await this.core.uploadObjects.publicObject(bucketKey);
      if (!object) return undefined;
      const blob = await this.blobs.open(object.blobKey);
      if (!blob) continue;
      return {
        stream: blob.stream,
        size: blob.size,
        contentType: object.contentType,
        ...(object.cacheControl !== null ? { cacheControl: object.cacheControl } : {}),
        etag: object.etag,
        lastModified: object.lastModified,
      };
    }
    return undefined;
  }

  /** Runs `work` after every earlier upload of the stream has been handled. */
  private serially<T>(streamId: StreamId, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(streamId) ?? Promise.resolve();
    const result = previous.then(work, work);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(streamId, settled);
    void settled.then(() => {
      if (this.queues.get(streamId) === settled) this.queues.delete(streamId);
    });
    return result;
  }

  private async apply(scope: UploadScope, name: string, body: Buffer, meta: UploadMeta): Promise<{ etag: string }> {
    const { streamId } = scope;
    const isPlaylist = name === LIVE_PLAYLIST || name === VOD_PLAYLIST;
    const playlist = isPlaylist ? parsePlaylist(name, body) : undefined;
    if (!(await this.core.uploadObjects.streamExists(streamId))) throw new NotFoundError('No such stream');
    const broadcastId = await this.core.uploadObjects.broadcastOf(streamId, isPlaylist);

    const etag = createHash('md5').update(body).digest('hex');
    const blobKey = blobKeyOf(streamId, name);
    await this.blobs.put(blobKey, body);
    await this.core.uploadObjects.save({
      bucketKey: scope.prefix + name,
      streamId,
      name,
      blobKey,
      contentType: contentTypeOf(name, meta.contentType),
      cacheControl: meta.cacheControl ?? null,
      etag,
      size: body.length,
      publicRead: meta.publicRead,
    });

    if (broadcastId !== undefined) {
      if (playlist) await this.recordListed(streamId, broadcastId, playlist.segments);
      else if (segmentSequenceOf(name) !== undefined) await this.recordListed(streamId, broadcastId, await this.listingsOf(streamId, name));
      if (name === VOD_PLAYLIST) await this.endIfOpen(streamId, broadcastId);
    }
    return { etag };
  }

  /** What the stored playlists say about the segment `name` (the live one first, then the VOD one). */
  private async listingsOf(streamId: StreamId, name: string): Promise<ListedSegment[]> {
    for (const playlistName of [LIVE_PLAYLIST, VOD_PLAYLIST]) {
      const object = await this.core.uploadObjects.latest(streamId, playlistName);
      const text = object ? await this.blobs.get(object.blobKey) : undefined;
      if (text === undefined) continue;
      let playlist: UploadedPlaylist;
      try {
        playlist = parseUploadedPlaylist(text.toString('utf8'));
      } catch {
        continue;
      }
      const listed = playlist.segments.find((s) => s.name === name);
      if (listed) return [listed];
    }
    return [];
  }

  /** Records every listed `index<N>.ts` that is stored and not yet recorded, in order. */
  private async recordListed(streamId: StreamId, broadcastId: BroadcastId, listed: readonly ListedSegment[]): Promise<void> {
    const candidates = listed.filter((s) => segmentSequenceOf(s.name) !== undefined);
    if (candidates.length === 0) return;
    const broadcast = await this.core.broadcasts.get(streamId, broadcastId);
    if (!broadcast) return;
    const recorded = new Set((await this.core.broadcasts.recording(broadcast)).segments.map((s) => s.sequence));
    const pending = candidates.filter((s) => !recorded.has(segmentSequenceOf(s.name)!));
    if (pending.length === 0) return;
    const stored = await this.core.uploadObjects.latestOf(streamId, pending.map((s) => s.name));
    for (const segment of pending) {
      const sequence = segmentSequenceOf(segment.name)!;
      const object = stored.get(segment.name);
      if (!object || recorded.has(sequence)) continue;
      recorded.add(sequence);
      await this.core.uploadObjects.recordSegmentOnce(broadcastId, {
        sequence,
        duration: segment.duration,
        discontinuity: segment.discontinuity,
        blobKey: object.blobKey,
        size: object.size,
      });
    }
  }

  /** vod.m3u8 is the broadcaster's last word: the broadcast ends if stream/stop has not ended it. */
  private async endIfOpen(streamId: StreamId, broadcastId: BroadcastId): Promise<void> {
    await this.core.broadcasts.endIfCurrent(streamId, broadcastId);
  }
}

function parsePlaylist(name: string, body: Buffer): UploadedPlaylist {
  try {
    return parseUploadedPlaylist(body.toString('utf8'));
  } catch (err) {
    if (err instanceof PlaylistFormatError) throw new ValidationError(`${name} is not an HLS media playlist: ${err.message}`, { [name]: err.message });
    throw err;
  }
}
