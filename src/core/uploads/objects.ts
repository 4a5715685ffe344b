import type { BroadcastService, Segment } from '../broadcasts/broadcasts.js';
import type { ViewingService } from '../playback/viewing.js';
import type { CoreContext } from '../kernel/context.js';
import type { BroadcastId, StreamId } from '../kernel/ids.js';
import { isUniqueViolation } from '../../store/database.js';
import type { UploadObjectRow } from '../../store/repositories/uploads.js';

/** An object a broadcaster uploaded, as a GET answers it, and where its bytes are. */
export interface UploadedObject {
  /** The key in the upload bucket: `<app>/<username>/<stream_id>/<name>`. */
  bucketKey: string;
  streamId: StreamId;
  /** The key after the stream's prefix: `index3.ts`, `index.m3u8`. */
  name: string;
  blobKey: string;
  contentType: string;
  cacheControl: string | null;
  /** md5 of the bytes in hex, without the quotes S3 puts around it in headers. */
  etag: string;
  size: number;
  /** The canned ACL public-read: anyone may GET the object. */
  publicRead: boolean;
  /** ISO-8601 UTC. */
  lastModified: string;
}

function toObject(row: UploadObjectRow): UploadedObject {
  return {
    bucketKey: row.bucket_key,
    streamId: row.stream_id as StreamId,
    name: row.name,
    blobKey: row.blob_key,
    contentType: row.content_type,
    cacheControl: row.cache_control,
    etag: row.etag,
    size: Number(row.size),
    publicRead: row.public_read === 1,
    lastModified: row.last_modified,
  };
}

/**
 * What the database knows of uploaded files (the media plane's upload ingest keeps their
 * bytes): each object's description, which broadcast a stream's uploads feed, and the
 * segments they recorded. The rules that hold across nodes live here: the first upload
 * broadcast stored is the one every node uses, and a segment is recorded once.
 */
export class UploadObjectService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly broadcasts: BroadcastService,
    private readonly viewing: ViewingService,
  ) {}

  async streamExists(streamId: StreamId): Promise<boolean> {
    return (await this.ctx.store.streams.findById(streamId)) !== undefined;
  }

  /** Stores the object's description (now modified), replacing the one of an earlier upload of the same key. */
  async save(object: Omit<UploadedObject, 'lastModified'>): Promise<void> {
    await this.ctx.store.uploadObjects.upsert({
      bucket_key: object.bucketKey,
      stream_id: object.streamId,
      name: object.name,
      blob_key: object.blobKey,
      content_type: object.contentType,
      cache_control: object.cacheControl,
      etag: object.etag,
      size: object.size,
      public_read: object.publicRead ? 1 : 0,
      last_modified: this.ctx.now(),
    });
  }

  /**
   * The object at `bucketKey` when anyone may read it: uploaded public-read, of a public stream
   * that exists. Private streams play only with a viewer token; their uploads are no side door.
   */
  async publicObject(bucketKey: string): Promise<UploadedObject | undefined> {
    const row = await this.ctx.store.uploadObjects.findByBucketKey(bucketKey);
    if (!row || row.public_read !== 1) return undefined;
    if ((await this.viewing.isPrivate(row.stream_id)) !== false) return undefined;
    return toObject(row);
  }

  /** The latest upload named `name` of the stream. */
  async latest(streamId: StreamId, name: string): Promise<UploadedObject | undefined> {
    const row = await this.ctx.store.uploadObjects.findByName(streamId, name);
    return row ? toObject(row) : undefined;
  }

  /** The latest upload of each of these names that the stream has. */
  async latestOf(streamId: StreamId, names: readonly string[]): Promise<Map<string, UploadedObject>> {
    const latest = new Map<string, UploadedObject>();
    for (const row of await this.ctx.store.uploadObjects.listByNames(streamId, names)) {
      const known = latest.get(row.name);
      if (!known || row.last_modified > known.lastModified) latest.set(row.name, toObject(row));
    }
    return latest;
  }

  /**
   * The broadcast the stream's uploads feed. With `mayStart`, one is started (or the open one
   * joined) when there is none; InUseError when an RTMP publisher holds the stream. Two nodes
   * starting at once agree on the first one stored.
   */
  async broadcastOf(streamId: StreamId, mayStart: boolean): Promise<BroadcastId | undefined> {
    const mapped = await this.ctx.store.uploadBroadcasts.findByStream(streamId);
    if (mapped) return mapped.broadcast_id as BroadcastId;
    if (!mayStart) return undefined;
    const broadcastId = (await this.broadcasts.startOrJoinUnattended(streamId)).id;
    await this.ctx.store.uploadBroadcasts.insertIfNone({ stream_id: streamId, broadcast_id: broadcastId, created_at: this.ctx.now() });
    const row = await this.ctx.store.uploadBroadcasts.findByStream(streamId);
    return (row?.broadcast_id ?? broadcastId) as BroadcastId;
  }

  /** Records an uploaded segment in its broadcast; false when it was recorded already (by another node). */
  async recordSegmentOnce(broadcastId: BroadcastId, segment: Segment): Promise<boolean> {
    try {
      await this.broadcasts.recordSegment(broadcastId, segment);
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }
}
