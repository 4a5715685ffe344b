import { S3Error } from './errors.js';
import { secretsEqual } from '../../../core/kernel/ids.js';
import { chunkStringToSign, signature, trailerStringToSign } from './sigv4.js';

/**
 * The aws-chunked body encoding (`Content-Encoding: aws-chunked`): chunks of
 * `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n`, a last chunk of size 0, then, with a
 * trailer, `name:value\r\n` lines (a checksum, and `x-amz-trailer-signature` when signed)
 * and an empty line. Signed chunks chain: each signs its bytes and the previous signature,
 * starting from the request's own signature.
 */

export interface ChunkSigning {
  key: Uint8Array;
  amzDate: string;
  scope: string;
  /** The request's signature, which the first chunk's chains to. */
  seedSignature: string;
}

export interface DecodedBody {
  content: Buffer;
  /** Trailing headers, lower-case names (without x-amz-trailer-signature). */
  trailers: Map<string, string>;
}

const CRLF = Buffer.from('\r\n');

function malformed(why: string): S3Error {
  return new S3Error('IncompleteBody', `The aws-chunked body is malformed: ${why}.`);
}

/** Decodes (and with `signing`, verifies) an aws-chunked body; `trailer` says a trailer section follows. */
export function decodeAwsChunked(body: Buffer, signing: ChunkSigning | undefined, trailer: boolean): DecodedBody {
  const pieces: Buffer[] = [];
  let pos = 0;
  let previous = signing?.seedSignature ?? '';
  for (;;) {
    const eol = body.indexOf(CRLF, pos);
    if (eol < 0 || eol - pos > 4096) throw malformed('a chunk header is incomplete');
    const header = body.subarray(pos, eol).toString('latin1');
    const [sizeText, ...extensions] = header.split(';');
    if (!sizeText || !/^[0-9a-fA-F]{1,8}$/.test(sizeText.trim())) throw malformed('a chunk size is not hexadecimal');
    const size = parseInt(sizeText.trim(), 16);
    const start = eol + 2;
    if (start + size > body.length) throw malformed('a chunk is shorter than its size');
    const data = body.subarray(start, start + size);
    if (signing) {
      const given = extensions.map((e) => e.trim()).find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length);
      if (!given) throw new S3Error('SignatureDoesNotMatch', 'A chunk lacks its chunk-signature.');
      const expected = signature(signing.key, chunkStringToSign(signing.amzDate, signing.scope, previous, data));
      if (!secretsEqual(given, expected)) {
        throw new S3Error('SignatureDoesNotMatch', 'The chunk signature we calculated does not match the signature you provided.');
      }
      previous = expected;
    }
    pos = start + size;
    if (size === 0) break;
    pieces.push(data);
    if (!body.subarray(pos, pos + 2).equals(CRLF)) throw malformed('a chunk does not end with CRLF');
    pos += 2;
  }

  const trailers = new Map<string, string>();
  let trailerSignature: string | undefined;
  let canonicalTrailers = '';
  // What follows the last chunk: trailer lines, then an empty line (some clients omit it).
  const rest = body.subarray(pos).toString('latin1');
  const lines = rest.split('\r\n');
  for (const line of lines) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (!trailer || colon <= 0) throw malformed('unexpected data after the last chunk');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      trailerSignature = value;
    } else {
      trailers.set(name, value);
      canonicalTrailers += `${name}:${value}\n`;
    }
  }
  if (signing && trailer) {
    if (trailerSignature === undefined) throw new S3Error('SignatureDoesNotMatch', 'The trailer lacks x-amz-trailer-signature.');
    const expected = signature(signing.key, trailerStringToSign(signing.amzDate, signing.scope, previous, canonicalTrailers));
    if (!secretsEqual(trailerSignature, expected)) {
      throw new S3Error('SignatureDoesNotMatch', 'The trailer signature we calculated does not match the signature you provided.');
    }
  }
  return { content: Buffer.concat(pieces), trailers };
}
