import { createHash, randomBytes } from 'node:crypto';
import type { BlobStore } from '../../blob/blob-store.js';
import type { CoreContext } from '../kernel/context.js';
import { newId, type StreamId } from '../kernel/ids.js';

/**
 * Multipart uploads through the S3-compatible endpoint while they are in progress: which object
 * each will become, and its parts, whose bytes wait in the blob store until the upload is
 * completed (then assembled and handed to the ingest) or aborted. Either way they are removed.
 */

export interface MultipartUpload {
  id: string;
  streamId: StreamId;
  /** The prefix of the credential that began it. */
  prefix: string;
  /** The whole object key in the bucket. */
  key: string;
  contentType: string | undefined;
  cacheControl: string | undefined;
  publicRead: boolean;
  createdAt: string;
}

export interface UploadedPart {
  partNumber: number;
  /** Hex MD5 of the part, unquoted as every stored ETag is (S3 headers and XML add the quotes). */
  etag: string;
  size: number;
}

/** Where the parts of uploads wait. */
const PARTS_FOLDER = 'multipart';

export function partEtag(body: Buffer): string {
  return createHash('md5').update(body).digest('hex');
}

export class MultipartUploadService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly blobs: BlobStore,
  ) {}

  async begin(upload: Omit<MultipartUpload, 'id' | 'createdAt'>): Promise<MultipartUpload> {
    const row = {
      id: newId<'MultipartUploadId'>() as string,
      stream_id: upload.streamId,
      prefix: upload.prefix,
      object_key: upload.key,
      content_type: upload.contentType ?? null,
      cache_control: upload.cacheControl ?? null,
      public_read: upload.publicRead ? (1 as const) : (0 as const),
      created_at: this.ctx.now(),
    };
    await this.ctx.store.multipartUploads.insert(row);
    return { ...upload, id: row.id, createdAt: row.created_at };
  }

  async find(uploadId: string): Promise<MultipartUpload | undefined> {
    const row = await this.ctx.store.multipartUploads.findById(uploadId);
    if (!row) return undefined;
    return {
      id: row.id,
      streamId: row.stream_id as StreamId,
      prefix: row.prefix,
      key: row.object_key,
      contentType: row.content_type ?? undefined,
      cacheControl: row.cache_control ?? undefined,
      publicRead: row.public_read === 1,
      createdAt: row.created_at,
    };
  }

  /** Stores a part (replacing an earlier one of the same number) and answers its ETag. */
  async putPart(upload: MultipartUpload, partNumber: number, body: Buffer): Promise<UploadedPart> {
    // A fresh blob per attempt: a retried part never overwrites bytes a concurrent completion reads.
    const blobKey = `${PARTS_FOLDER}/${upload.id}/${partNumber}-${randomBytes(6).toString('hex')}`;
    await this.blobs.put(blobKey, body);
    const etag = partEtag(body);
    const previous = await this.ctx.store.multipartUploads.putPart({
      upload_id: upload.id,
      part_number: partNumber,
      etag,
      size: body.length,
      blob_key: blobKey,
      created_at: this.ctx.now(),
    });
    if (previous) await this.blobs.delete(previous.blob_key);
    return { partNumber, etag, size: body.length };
  }

  async parts(uploadId: string): Promise<UploadedPart[]> {
    const rows = await this.ctx.store.multipartUploads.parts(uploadId);
    return rows.map((r) => ({ partNumber: r.part_number, etag: r.etag, size: r.size }));
  }

  /** The bytes of the given parts, in the given order, as one buffer. */
  async assemble(uploadId: string, partNumbers: readonly number[]): Promise<Buffer> {
    const rows = new Map((await this.ctx.store.multipartUploads.parts(uploadId)).map((r) => [r.part_number, r]));
    const chunks: Buffer[] = [];
    for (const n of partNumbers) {
      const row = rows.get(n);
      const bytes = row ? await this.blobs.get(row.blob_key) : undefined;
      if (!bytes) throw new Error(`part ${n} of multipart upload ${uploadId} is missing from the blob store`);
      chunks.push(bytes);
    }
    return Buffer.concat(chunks);
  }

  /** Removes up to `limit` uploads begun before `before` (abandoned: no credential can finish them). */
  async removeBegunBefore(before: string, limit: number): Promise<void> {
    for (const row of await this.ctx.store.multipartUploads.listCreatedBefore(before, limit)) await this.remove(row.id);
  }

  /** Forgets the upload and deletes its parts' bytes (after completion or on abort); false if it was not there. */
  async remove(uploadId: string): Promise<boolean> {
    const rows = await this.ctx.store.multipartUploads.parts(uploadId);
    const removed = await this.ctx.store.transaction((tx) => tx.multipartUploads.delete(uploadId));
    for (const row of rows) await this.blobs.delete(row.blob_key);
    return removed;
  }
}
