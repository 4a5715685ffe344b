import { createHash } from 'node:crypto';
import { crc32 } from '../../../bundles/crc32.js';
import { S3Error } from './errors.js';

/**
 * The object checksums S3 clients send (as `x-amz-checksum-<algorithm>` headers, or as
 * trailers after an aws-chunked body), base64 of the big-endian checksum, and Content-MD5.
 * Each one present is checked against the bytes received; a mismatch stores nothing.
 */

function table32(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? poly ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const CRC32C_TABLE = table32(0x82f63b78);

/** CRC-32C (Castagnoli, reflected 0x82F63B78). */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** CRC-64/NVME (reflected 0x9A6C9329AC4BC9B5), kept as two 32-bit halves for speed. */
const CRC64_TABLE = (() => {
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  const polyHi = 0x9a6c9329;
  const polyLo = 0xac4bc9b5;
  for (let n = 0; n < 256; n++) {
    let h = 0;
    let l = n;
    for (let k = 0; k < 8; k++) {
      const carry = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (carry) {
        h = (h ^ polyHi) >>> 0;
        l = (l ^ polyLo) >>> 0;
      }
    }
    hi[n] = h;
    lo[n] = l;
  }
  return { hi, lo };
})();

export function crc64nvme(data: Uint8Array): Buffer {
  let h = 0xffffffff;
  let l = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    const index = (l ^ data[i]!) & 0xff;
    l = (((l >>> 8) | ((h & 0xff) << 24)) ^ CRC64_TABLE.lo[index]!) >>> 0;
    h = ((h >>> 8) ^ CRC64_TABLE.hi[index]!) >>> 0;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32BE(~h >>> 0, 0);
  out.writeUInt32BE(~l >>> 0, 4);
  return out;
}

function be32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

export const CHECKSUMS: Record<string, (data: Uint8Array) => Buffer> = {
  'x-amz-checksum-crc32': (d) => be32(crc32(d)),
  'x-amz-checksum-crc32c': (d) => be32(crc32c(d)),
  'x-amz-checksum-crc64nvme': (d) => crc64nvme(d),
  'x-amz-checksum-sha1': (d) => createHash('sha1').update(d).digest(),
  'x-amz-checksum-sha256': (d) => createHash('sha256').update(d).digest(),
};

/** Checks every checksum given (header or trailer name to base64 value) against `content`. */
export function verifyChecksums(content: Uint8Array, given: ReadonlyMap<string, string>): void {
  for (const [name, value] of given) {
    const compute = CHECKSUMS[name];
    if (compute) {
      if (compute(content).toString('base64') !== value.trim()) {
        throw new S3Error('BadDigest', `The ${name.slice('x-amz-checksum-'.length).toUpperCase()} you specified did not match the calculated checksum.`);
      }
    } else if (name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type' && name !== 'x-amz-checksum-algorithm') {
      throw new S3Error('InvalidRequest', `Unsupported checksum ${name}.`);
    }
  }
  const md5 = given.get('content-md5');
  if (md5 !== undefined) {
    if (!/^[A-Za-z0-9+/]{22}==$/.test(md5.trim())) throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.');
    if (createHash('md5').update(content).digest('base64') !== md5.trim()) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
  }
}
