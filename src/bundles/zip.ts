import { inflateRaw } from 'node:zlib';
import { promisify } from 'node:util';
import { crc32 } from './crc32.js';

/**
 * A bounded ZIP reader: it lists an archive from its central directory and reads single
 * entries on demand, so an uploaded bundle is never unpacked as a whole. Every size and
 * offset in the archive is checked before it is trusted, every entry name is checked to stay
 * inside the archive, and every limit (entries, declared total, bytes read per entry, ratio)
 * ends in a ZipError, the only error this module throws for bad input.
 */

const inflate = promisify(inflateRaw);

export class ZipError extends Error {
  override readonly name = 'ZipError';
}

/** Random access to the archive's bytes: a Buffer in tests, a downloaded file in the job. */
export interface ByteSource {
  readonly size: number;
  /** The bytes at [offset, offset + length); the range is within `size`. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function bufferSource(data: Uint8Array): ByteSource {
  return { size: data.length, read: async (offset, length) => data.subarray(offset, offset + length) };
}

export interface ZipLimits {
  /** Entries in the central directory. */
  maxEntries: number;
  /** Bytes the central directory may take (it is read into memory). */
  maxCentralDirectoryBytes: number;
  /** Sum of the declared uncompressed sizes of all files: refuses archives that claim to unpack to more. */
  maxTotalUncompressed: number;
  /** Bytes one `read()` may produce, unless the caller asks for less. */
  maxEntryBytes: number;
  /** Largest uncompressed:compressed ratio of an entry that is read (beyond its first 64 KiB). */
  maxRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 200_000,
  maxCentralDirectoryBytes: 64 * 1024 * 1024,
  maxTotalUncompressed: 4 * 1024 * 1024 * 1024,
  maxEntryBytes: 16 * 1024 * 1024,
  maxRatio: 200,
};

/** Below this size an entry's compression ratio is not checked: small runs of zeros compress very well. */
const RATIO_FREE_BYTES = 64 * 1024;

export interface ZipEntry {
  /** The path inside the archive, '/'-separated, without `.` or empty segments or a trailing slash. */
  readonly name: string;
  readonly isDirectory: boolean;
  /** A Unix symbolic link: its data is a path, never read as a file here. */
  readonly isSymlink: boolean;
  readonly encrypted: boolean;
  /** 0 stored, 8 deflate; anything else cannot be read. */
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** "Version made by" hosts whose external attributes carry a Unix mode: Unix and OS X. */
const UNIX_HOSTS = new Set([3, 19]);

/** Little-endian reads from a buffer that fail as ZipError, never as RangeError. */
class Cursor {
  constructor(
    private readonly data: Uint8Array,
    private readonly what: string,
  ) {}

  private check(offset: number, length: number): void {
    if (offset < 0 || offset + length > this.data.length) throw new ZipError(`${this.what} is truncated`);
  }

  u16(offset: number): number {
    this.check(offset, 2);
    return this.data[offset]! | (this.data[offset + 1]! << 8);
  }

  u32(offset: number): number {
    this.check(offset, 4);
    return (this.data[offset]! | (this.data[offset + 1]! << 8) | (this.data[offset + 2]! << 16) | (this.data[offset + 3]! << 24)) >>> 0;
  }

  /** A 64-bit size or offset, refused when it does not fit a JavaScript number exactly. */
  u64(offset: number): number {
    const low = this.u32(offset);
    const high = this.u32(offset + 4);
    if (high > 0x1fffff) throw new ZipError(`${this.what} holds a size beyond 2^53`);
    return high * 0x100000000 + low;
  }

  bytes(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    return this.data.subarray(offset, offset + length);
  }
}

async function readExactly(source: ByteSource, offset: number, length: number, what: string): Promise<Uint8Array> {
  if (offset < 0 || length < 0 || offset + length > source.size) throw new ZipError(`${what} lies outside the file`);
  const data = await source.read(offset, length);
  if (data.length !== length) throw new ZipError(`${what} could not be read in full`);
  return data;
}

/**
 * An entry name as a safe relative path, or undefined for a name that is only the archive's
 * root (`./`). Absolute paths, drive letters, backslashes, NUL and `..` segments make the
 * whole archive unsafe: an archive that tries to climb out is refused, not repaired.
 */
function safeEntryName(raw: string): string | undefined {
  if (raw.includes('\0') || raw.includes('\\')) throw new ZipError(`unsafe entry path ${JSON.stringify(raw)}`);
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) throw new ZipError(`unsafe entry path ${JSON.stringify(raw)} (absolute)`);
  const parts = raw.split('/');
  if (parts.includes('..')) throw new ZipError(`unsafe entry path ${JSON.stringify(raw)} (climbs out of the archive)`);
  const kept = parts.filter((p) => p !== '' && p !== '.');
  return kept.length === 0 ? undefined : kept.join('/');
}

interface EndOfCentralDirectory {
  entries: number;
  offset: number;
  size: number;
  /** Where the end records start: entry data and the central directory lie before it. */
  end: number;
}

async function findEnd(source: ByteSource): Promise<EndOfCentralDirectory> {
  if (source.size < EOCD_SIZE) throw new ZipError('the file is too short to be a zip');
  const tailLength = Math.min(source.size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = source.size - tailLength;
  const tail = await readExactly(source, tailStart, tailLength, 'the end of the archive');
  const c = new Cursor(tail, 'the end of the archive');
  let at = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (c.u32(i) === SIG_EOCD && i + EOCD_SIZE + c.u16(i + 20) <= tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipError('no end of central directory record: not a zip file');
  const disk = c.u16(at + 4);
  const cdDisk = c.u16(at + 6);
  const entriesHere = c.u16(at + 8);
  let entries = c.u16(at + 10);
  let size = c.u32(at + 12);
  let offset = c.u32(at + 16);
  let end = tailStart + at;

  if (entries === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    const locatorAt = end - 20;
    const locator = new Cursor(await readExactly(source, locatorAt, 20, 'the zip64 locator'), 'the zip64 locator');
    if (locator.u32(0) !== SIG_ZIP64_LOCATOR) throw new ZipError('the zip64 end record is missing');
    const recordAt = locator.u64(8);
    if (recordAt + 56 > locatorAt) throw new ZipError('the zip64 end record lies outside the archive');
    const record = new Cursor(await readExactly(source, recordAt, 56, 'the zip64 end record'), 'the zip64 end record');
    if (record.u32(0) !== SIG_ZIP64_EOCD) throw new ZipError('the zip64 end record is damaged');
    if (record.u32(16) !== 0 || record.u32(20) !== 0 || record.u64(24) !== record.u64(32)) {
      throw new ZipError('multi-disk archives are not supported');
    }
    entries = record.u64(32);
    size = record.u64(40);
    offset = record.u64(48);
    end = recordAt;
  } else if (disk !== 0 || cdDisk !== 0 || entriesHere !== entries) {
    throw new ZipError('multi-disk archives are not supported');
  }
  if (offset + size > end) throw new ZipError('the central directory lies outside the archive');
  return { entries, offset, size, end };
}

/** The zip64 extended information extra field (0x0001): 64-bit values for the fields marked 0xFFFFFFFF. */
function applyZip64Extra(extra: Uint8Array, fields: { uncompressed: number; compressed: number; offset: number }): void {
  const c = new Cursor(extra, 'an extra field');
  let at = 0;
  while (at + 4 <= extra.length) {
    const id = c.u16(at);
    const length = c.u16(at + 2);
    if (id === 0x0001) {
      const body = new Cursor(c.bytes(at + 4, length), 'the zip64 extra field');
      let p = 0;
      if (fields.uncompressed === 0xffffffff) (fields.uncompressed = body.u64(p)), (p += 8);
      if (fields.compressed === 0xffffffff) (fields.compressed = body.u64(p)), (p += 8);
      if (fields.offset === 0xffffffff) fields.offset = body.u64(p);
      return;
    }
    at += 4 + length;
  }
}

/** An opened archive: its entries, and their contents on request. */
export class ZipArchive {
  private readonly byName: Map<string, ZipEntry>;

  private constructor(
    private readonly source: ByteSource,
    private readonly limits: ZipLimits,
    readonly entries: readonly ZipEntry[],
    /** Entry data lies before this offset (the central directory). */
    private readonly dataEnd: number,
  ) {
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  static async open(source: ByteSource, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipArchive> {
    const end = await findEnd(source);
    if (end.entries > limits.maxEntries) throw new ZipError(`the zip holds ${end.entries} entries, more than the limit of ${limits.maxEntries}`);
    if (end.size > limits.maxCentralDirectoryBytes) throw new ZipError('the zip central directory is larger than the limit');
    if (end.entries * CENTRAL_SIZE > end.size) throw new ZipError('the central directory is truncated');
    const directory = await readExactly(source, end.offset, end.size, 'the central directory');
    const c = new Cursor(directory, 'the central directory');

    const entries: ZipEntry[] = [];
    const seen = new Map<string, boolean>();
    let declaredTotal = 0;
    let at = 0;
    for (let i = 0; i < end.entries; i++) {
      if (c.u32(at) !== SIG_CENTRAL) throw new ZipError('the central directory is damaged');
      const madeBy = c.u16(at + 4) >> 8;
      const flags = c.u16(at + 8);
      const method = c.u16(at + 10);
      const crc = c.u32(at + 16);
      const fields = { compressed: c.u32(at + 20), uncompressed: c.u32(at + 24), offset: c.u32(at + 42) };
      const nameLength = c.u16(at + 28);
      const extraLength = c.u16(at + 30);
      const commentLength = c.u16(at + 32);
      const external = c.u32(at + 38);
      const rawName = Buffer.from(c.bytes(at + CENTRAL_SIZE, nameLength)).toString('utf8');
      applyZip64Extra(c.bytes(at + CENTRAL_SIZE + nameLength, extraLength), fields);
      at += CENTRAL_SIZE + nameLength + extraLength + commentLength;

      const name = safeEntryName(rawName);
      if (name === undefined) continue;
      const mode = UNIX_HOSTS.has(madeBy) ? external >>> 16 : 0;
      const isDirectory = rawName.endsWith('/') || (mode & S_IFMT) === S_IFDIR;
      const isSymlink = (mode & S_IFMT) === S_IFLNK;
      if (seen.has(name)) {
        if (isDirectory && seen.get(name)) continue;
        throw new ZipError(`the zip holds ${JSON.stringify(name)} more than once`);
      }
      seen.set(name, isDirectory);
      if (fields.offset >= end.end) throw new ZipError(`entry ${JSON.stringify(name)} points outside the archive`);
      if (!isDirectory) {
        declaredTotal += fields.uncompressed;
        if (declaredTotal > limits.maxTotalUncompressed) {
          throw new ZipError(`the zip would unpack to more than the limit of ${limits.maxTotalUncompressed} bytes`);
        }
      }
      entries.push({
        name,
        isDirectory,
        isSymlink,
        encrypted: (flags & 1) !== 0,
        method,
        crc32: crc,
        compressedSize: fields.compressed,
        uncompressedSize: fields.uncompressed,
        localHeaderOffset: fields.offset,
      });
    }
    return new ZipArchive(source, limits, entries, end.offset);
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /**
   * The entry's contents, checked against its CRC-32. Refused: directories, links, encrypted
   * entries, methods other than stored and deflate, entries larger than `maxBytes`, entries
   * that inflate beyond their declared size or ratio.
   */
  async read(entry: ZipEntry, maxBytes: number = this.limits.maxEntryBytes): Promise<Buffer> {
    const label = JSON.stringify(entry.name);
    if (entry.isDirectory || entry.isSymlink) throw new ZipError(`${label} is not a regular file`);
    if (entry.encrypted) throw new ZipError(`${label} is encrypted`);
    if (entry.method !== 0 && entry.method !== 8) {
      throw new ZipError(`${label} uses compression method ${entry.method}; only stored and deflate are supported`);
    }
    const limit = Math.min(maxBytes, this.limits.maxEntryBytes);
    if (entry.uncompressedSize > limit) throw new ZipError(`${label} is larger than the limit of ${limit} bytes`);
    if (entry.uncompressedSize > RATIO_FREE_BYTES && entry.uncompressedSize > Math.max(entry.compressedSize, 1) * this.limits.maxRatio) {
      throw new ZipError(`${label} is compressed more than ${this.limits.maxRatio}:1 (a zip bomb?)`);
    }

    const header = new Cursor(await readExactly(this.source, entry.localHeaderOffset, LOCAL_SIZE, `the header of ${label}`), `the header of ${label}`);
    if (header.u32(0) !== SIG_LOCAL) throw new ZipError(`the header of ${label} is damaged`);
    const dataStart = entry.localHeaderOffset + LOCAL_SIZE + header.u16(26) + header.u16(28);
    if (dataStart + entry.compressedSize > this.dataEnd) throw new ZipError(`the data of ${label} runs past the end of the archive`);
    const stored = await readExactly(this.source, dataStart, entry.compressedSize, `the data of ${label}`);

    let data: Buffer;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.uncompressedSize) throw new ZipError(`${label} is stored with inconsistent sizes`);
      data = Buffer.from(stored);
    } else {
      try {
        data = await inflate(stored, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') throw new ZipError(`${label} inflates to more than its declared size`);
        throw new ZipError(`${label} is corrupt (${(err as Error).message})`);
      }
      if (data.length !== entry.uncompressedSize) throw new ZipError(`${label} inflates to ${data.length} bytes, not the declared ${entry.uncompressedSize}`);
    }
    if (crc32(data) !== entry.crc32) throw new ZipError(`${label} fails its CRC-32 check`);
    return data;
  }
}
