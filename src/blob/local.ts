import { createReadStream } from 'node:fs';
import { access, constants, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { checkBlobKey, type BlobStore, type BlobWriter } from './blob-store.js';
import { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } from './private-files.js';

/**
 * Blobs as files under one directory; a write goes to a temporary file renamed into place.
 * Folders are made 0700 and files 0600: recordings of private streams and uploads are nobody
 * else's business on the machine.
 */
/** The largest piece a blob is read in. */
const READ_PIECE_MAX = 1024 * 1024;

export class LocalBlobStore implements BlobStore {
  /** Folders known to exist: a live stream writes a segment every few seconds into the same one. */
  private readonly folders = new Set<string>();

  constructor(private readonly root: string) {}

  private path(key: string): string {
    return join(this.root, checkBlobKey(key));
  }

  async put(key: string, data: Buffer | readonly Uint8Array[]): Promise<void> {
    const writer = await this.createWriter(key);
    try {
      await writer.write(Buffer.isBuffer(data) ? [data] : data);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    await writer.commit();
  }

  async createWriter(key: string): Promise<BlobWriter> {
    const path = this.path(key);
    const folder = dirname(path);
    if (!this.folders.has(folder)) {
      await mkdir(folder, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
      if (this.folders.size > 10_000) this.folders.clear();
      this.folders.add(folder);
    }
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const file = await open(temporary, 'w', PRIVATE_FILE_MODE);
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await file.close();
    };
    return {
      async write(parts) {
        if (parts.length === 1) await file.write(parts[0]!);
        else if (parts.length > 1) await file.writev(parts as Uint8Array[]);
      },
      async commit() {
        await close();
        await rename(temporary, path);
      },
      async abort() {
        await close().catch(() => undefined);
        await rm(temporary, { force: true });
      },
    };
  }

  async open(key: string) {
    const path = this.path(key);
    try {
      const info = await stat(path);
      if (!info.isFile()) return undefined;
      // Read in pieces of up to 1 MiB rather than the default 64 KiB: a segment (a few hundred
      // kilobytes) is one read, not ten trips through libuv's thread pool, which many players
      // fetching segments at once would queue behind one another.
      return { stream: createReadStream(path, { highWaterMark: Math.min(READ_PIECE_MAX, Math.max(info.size, 1)) }), size: info.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
    // The folder may be removed by whoever empties it; it is made again on the next write.
    this.folders.delete(dirname(this.path(key)));
  }

  /** The root folder is there (made if missing, as the first write would) and writable by this process. */
  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
    await access(this.root, constants.W_OK);
  }
}
