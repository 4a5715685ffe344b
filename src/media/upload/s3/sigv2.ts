import { createHmac } from 'node:crypto';
import { parseAmzDate } from './sigv4.js';

/**
 * AWS Signature Version 2 as S3 checks it (`Authorization: AWS <key id>:<signature>`, or the
 * query's AWSAccessKeyId, Expires and Signature): pure functions from a request's parts to the
 * string AWS signs. The Kickflip Android SDK needs it: its aws-android-sdk-s3 2.2.x signs S3
 * requests with SigV2 in us-east-1 (SigV4 only where a region demands it). No I/O and no
 * policy: `auth.ts` decides what is accepted.
 */

/**
 * The query parameters that are part of the resource signed (S3's list of sub-resources and the
 * response-header overrides); every other parameter is left out of the signature.
 */
const SUB_RESOURCES = new Set([
  'acl',
  'cors',
  'delete',
  'lifecycle',
  'location',
  'logging',
  'notification',
  'partNumber',
  'policy',
  'requestPayment',
  'restore',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
]);

/** `AWS <key id>:<base64 signature>` in parts, or undefined. */
export function parseAuthorizationV2(value: string): { accessKeyId: string; signature: string } | undefined {
  const m = /^AWS ([^\s:]+):(\S+)$/.exec(value);
  return m ? { accessKeyId: m[1]!, signature: m[2]! } : undefined;
}

/**
 * CanonicalizedResource: '/<bucket>' when the bucket is in the Host (virtual-hosted style),
 * then the request path exactly as sent (still percent-encoded), then the sub-resources sorted
 * by name, with their decoded values ('?partNumber=2&uploadId=abc', '?uploads').
 */
export function canonicalizedResource(rawPath: string, virtualHostBucket: string | undefined, query: readonly (readonly [string, string])[]): string {
  const subs = query
    .filter(([name]) => SUB_RESOURCES.has(name))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`))
    .sort((a, b) => {
      const na = a.split('=')[0]!;
      const nb = b.split('=')[0]!;
      return na < nb ? -1 : na > nb ? 1 : 0;
    });
  const base = (virtualHostBucket !== undefined ? `/${virtualHostBucket}` : '') + rawPath;
  return subs.length > 0 ? `${base}?${subs.join('&')}` : base;
}

/**
 * CanonicalizedAmzHeaders: every `x-amz-*` header, names lower-case and sorted, repeated
 * headers' values joined with ',', folded lines unfolded, each `name:value\n`. `extra` are
 * further pairs signed the same way (the x-amz-* parameters of a presigned query).
 */
export function canonicalizedAmzHeaders(rawHeaders: readonly string[], extra: readonly (readonly [string, string])[] = []): string {
  const values = new Map<string, string[]>();
  const add = (name: string, value: string) => {
    const lower = name.toLowerCase();
    if (!lower.startsWith('x-amz-')) return;
    const list = values.get(lower) ?? [];
    list.push(value.replace(/\s*\r?\n\s*/g, ' ').trim());
    values.set(lower, list);
  };
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) add(rawHeaders[i]!, rawHeaders[i + 1]!);
  for (const [name, value] of extra) add(name, value);
  return [...values.keys()]
    .sort()
    .map((name) => `${name}:${values.get(name)!.join(',')}\n`)
    .join('');
}

export interface StringToSignV2Parts {
  method: string;
  /** The Content-MD5 header, '' when absent. */
  contentMd5: string;
  /** The Content-Type header, '' when absent. */
  contentType: string;
  /** The Date header; '' when x-amz-date is sent; Expires (epoch seconds) for query auth. */
  date: string;
  amzHeaders: string;
  resource: string;
}

export function stringToSignV2(parts: StringToSignV2Parts): string {
  return `${parts.method}\n${parts.contentMd5}\n${parts.contentType}\n${parts.date}\n${parts.amzHeaders}${parts.resource}`;
}

/** base64(HMAC-SHA1(secret access key, string to sign)). */
export function signatureV2(secret: string, toSign: string): string {
  return createHmac('sha1', secret).update(toSign, 'utf8').digest('base64');
}

/**
 * A Date or x-amz-date value as epoch milliseconds: an HTTP date (`Tue, 27 Mar 2007 19:36:42
 * +0000` or `… GMT`, as the SDKs write it) or the ISO 8601 basic form SigV4 uses; else undefined.
 */
export function parseHttpDate(value: string): number | undefined {
  const iso = parseAmzDate(value);
  if (iso !== undefined) return iso;
  if (!/^[A-Za-z]{3}, \d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} (?:GMT|UTC|[+-]\d{4})$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
