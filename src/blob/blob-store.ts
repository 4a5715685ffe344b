import type { Readable } from 'node:stream';

/** Where media segments and files are kept: local disk by default, an object store at scale. */
export interface BlobStore {
  /** Stores the whole object at once: readers see all of it or none of it. */
  put(key: string, data: Buffer | readonly Uint8Array[]): Promise<void>;
  /**
   * An object written in parts as its bytes come (a live segment while it is being cut), so
   * that they need not all be held in memory; readers see it only once it is committed, whole.
   */
  createWriter(key: string): Promise<BlobWriter>;
  /** The object's bytes as a stream with its size, or undefined when there is none. */
  open(key: string): Promise<{ stream: Readable; size: number } | undefined>;
  get(key: string): Promise<Buffer | undefined>;
  delete(key: string): Promise<void>;
  /** Resolves when objects can be written now; rejects saying why not (a readiness probe). */
  check(): Promise<void>;
}

/** An object being written: parts in order, then commit (it appears whole) or abort (it never appears). */
export interface BlobWriter {
  /** Appends the bytes; the caller may reuse them once this resolves. */
  write(parts: readonly Uint8Array[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

const KEY_SHAPE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

export class BlobKeyError extends Error {
  override readonly name = 'BlobKeyError';
}

/** Keys are relative paths of plain segments: no `..`, no leading dot or slash. */
export function checkBlobKey(key: string): string {
  if (!KEY_SHAPE.test(key) || key.split('/').some((part) => part === '..' || part === '.')) {
    throw new BlobKeyError(`invalid blob key ${JSON.stringify(key)}`);
  }
  return key;
}
