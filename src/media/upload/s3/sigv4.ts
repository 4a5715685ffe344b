import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4, as S3 checks it: pure functions from a request's parts to the
 * strings AWS hashes and signs. No I/O and no policy: `auth.ts` decides what is accepted.
 */

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmac(key: string | Uint8Array, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * RFC 3986 percent-encoding as SigV4 does it: every byte but A-Z a-z 0-9 - _ . ~ is encoded
 * (upper-case hex); '/' is kept when `keepSlash` (object key paths).
 */
export function uriEncode(value: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Percent-decoding of a path or query component ('+' stays '+'); undefined if malformed. */
export function percentDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** A raw query string as decoded name/value pairs in their order ('a&b=1' gives a='' and b='1'). */
export function parseQuery(raw: string): [string, string][] | undefined {
  const pairs: [string, string][] = [];
  if (raw === '') return pairs;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = percentDecode(eq < 0 ? part : part.slice(0, eq));
    const value = percentDecode(eq < 0 ? '' : part.slice(eq + 1));
    if (name === undefined || value === undefined) return undefined;
    pairs.push([name, value]);
  }
  return pairs;
}

/** The canonical URI of an S3 request: the decoded path encoded once, slashes kept (S3 does not normalise). */
export function canonicalUri(decodedPath: string): string {
  return uriEncode(decodedPath, true);
}

/** Pairs encoded, then sorted by name and value (code-point order), joined with '&'. */
export function canonicalQuery(pairs: readonly (readonly [string, string])[]): string {
  return pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Values with surrounding spaces trimmed and inner runs of spaces made one (SigV4's "trimall"). */
function trimAll(value: string): string {
  return value.trim().replace(/ +/g, ' ');
}

/**
 * The canonical headers block (each `name:value\n`, lower-case names in the order of
 * `signedHeaders`) from raw header pairs; repeated headers join with ','. Undefined names a
 * signed header the request lacks.
 */
export function canonicalHeaders(rawHeaders: readonly string[], signedHeaders: readonly string[]): { block: string } | { missing: string } {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const list = values.get(name) ?? [];
    list.push(trimAll(rawHeaders[i + 1]!));
    values.set(name, list);
  }
  let block = '';
  for (const name of signedHeaders) {
    const list = values.get(name);
    if (!list) return { missing: name };
    block += `${name}:${list.join(',')}\n`;
  }
  return { block };
}

export interface CanonicalRequestParts {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  canonicalHeaders: string;
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function canonicalRequest(parts: CanonicalRequestParts): string {
  return [parts.method, parts.canonicalUri, parts.canonicalQuery, parts.canonicalHeaders, parts.signedHeaders.join(';'), parts.payloadHash].join('\n');
}

/** '<yyyymmdd>/<region>/<service>/aws4_request'. */
export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`;
}

export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequestText)}`;
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

export function signature(key: Uint8Array, toSign: string): string {
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

/** The string a chunk of an aws-chunked body signs, chained to the previous signature. */
export function chunkStringToSign(amzDate: string, scope: string, previousSignature: string, chunk: Uint8Array): string {
  return `${ALGORITHM}-PAYLOAD\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${sha256Hex(chunk)}`;
}

/** The string the trailing headers of an aws-chunked body sign (x-amz-trailer-signature). */
export function trailerStringToSign(amzDate: string, scope: string, previousSignature: string, canonicalTrailers: string): string {
  return `${ALGORITHM}-TRAILER\n${amzDate}\n${scope}\n${previousSignature}\n${sha256Hex(canonicalTrailers)}`;
}

export interface AuthorizationHeader {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminal: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex`. */
export function parseAuthorizationHeader(value: string): AuthorizationHeader | undefined {
  if (!value.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = parseCredential(fields.get('Credential'));
  const signedHeaders = fields.get('SignedHeaders');
  const sig = fields.get('Signature');
  if (!credential || !signedHeaders || !sig) return undefined;
  return { ...credential, signedHeaders: signedHeaders.split(';'), signature: sig };
}

/** 'AKID/yyyymmdd/region/service/aws4_request' in parts. */
export function parseCredential(value: string | undefined): Omit<AuthorizationHeader, 'signedHeaders' | 'signature'> | undefined {
  const parts = value?.split('/');
  if (!parts || parts.length !== 5 || parts.some((p) => p === '')) return undefined;
  const [accessKeyId, date, region, service, terminal] = parts as [string, string, string, string, string];
  return { accessKeyId, date, region, service, terminal };
}

/** 'yyyymmddThhmmssZ' as epoch milliseconds, or undefined. */
export function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : ms;
}
