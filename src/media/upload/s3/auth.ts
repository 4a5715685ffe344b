import { secretsEqual } from '../../../core/kernel/ids.js';
import type { UploadCredential } from '../../../core/uploads/credentials.js';
import { decodeAwsChunked, type ChunkSigning } from './chunked.js';
import { verifyChecksums } from './checksums.js';
import { S3Error } from './errors.js';
import {
  ALGORITHM,
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  parseAmzDate,
  parseAuthorizationHeader,
  parseCredential,
  parseQuery,
  percentDecode,
  sha256Hex,
  signature,
  signingKey,
  stringToSign,
  type AuthorizationHeader,
} from './sigv4.js';
import { canonicalizedAmzHeaders, canonicalizedResource, parseAuthorizationV2, parseHttpDate, signatureV2, stringToSignV2 } from './sigv2.js';

/**
 * Who sent an S3 request: checks its SigV4 signature (an Authorization header or a presigned
 * URL), or its SigV2 signature (`AWS <key id>:<signature>` or a V2 presigned query, as older
 * AWS SDKs such as the Kickflip Android SDK's sign), against a temporary upload credential, and
 * then decodes its body the way its payload hash says (a sha256 to verify, unsigned, or
 * aws-chunked with chained chunk signatures).
 */

/** How far a request's x-amz-date may be from our clock, as S3 allows. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** The longest a presigned URL may be valid (S3's limit: seven days). */
const MAX_PRESIGNED_EXPIRES = 604800;

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** The request as it arrived: the path before any rewrite (virtual-hosted style signs `/<key>`). */
export interface IncomingS3Request {
  method: string;
  /** Raw (percent-encoded) path, without the query. */
  path: string;
  /** Raw query string, without '?'. */
  query: string;
  /** Node's rawHeaders: name, value, name, value… */
  rawHeaders: readonly string[];
  /** The bucket the Host named (virtual-hosted style): SigV2 signs it before the path. */
  virtualHostBucket?: string | undefined;
}

export interface AuthOptions {
  region: string;
  now: number;
  credential(accessKeyId: string): Promise<UploadCredential | undefined>;
  isExpired(credential: UploadCredential): boolean;
}

export interface Authenticated {
  credential: UploadCredential;
  /** The x-amz-content-sha256 value the request was signed with (UNSIGNED-PAYLOAD for SigV2 without one). */
  payloadHash: string;
  /** What an aws-chunked body's chunk signatures chain from: SigV4 only. */
  chunkSigning: ChunkSigning | undefined;
}

function header(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1]!;
  return undefined;
}

/** Undefined for an anonymous request (neither an Authorization header nor a presigned query). */
export async function authenticate(request: IncomingS3Request, options: AuthOptions): Promise<Authenticated | undefined> {
  const query = parseQueryOrFail(request.query);
  const authorization = header(request.rawHeaders, 'authorization');
  const presigned = query.some(([k]) => k === 'X-Amz-Algorithm');
  const presignedV2 = query.some(([k]) => k === 'AWSAccessKeyId' || k === 'Signature');
  if (authorization === undefined && !presigned && !presignedV2) return undefined;
  if ([authorization !== undefined, presigned, presignedV2].filter(Boolean).length > 1) {
    throw new S3Error('InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified.');
  }
  if (presignedV2 || authorization?.startsWith('AWS ')) return authenticateV2(request, query, authorization, options);

  let auth: AuthorizationHeader;
  let amzDate: string;
  let payloadHash: string;
  let signedQuery: [string, string][] = query;
  if (authorization !== undefined) {
    const parsed = parseAuthorizationHeader(authorization);
    if (!parsed) throw new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; it must be "${ALGORITHM} Credential=…, SignedHeaders=…, Signature=…".`);
    auth = parsed;
    const date = header(request.rawHeaders, 'x-amz-date');
    if (date === undefined) throw new S3Error('AccessDenied', 'AWS authentication requires a valid x-amz-date header.');
    amzDate = date;
    const hash = header(request.rawHeaders, 'x-amz-content-sha256');
    if (hash === undefined) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256.');
    payloadHash = hash;
  } else {
    const get = (name: string) => query.find(([k]) => k === name)?.[1];
    if (get('X-Amz-Algorithm') !== ALGORITHM) throw new S3Error('AuthorizationQueryParametersError', `X-Amz-Algorithm only supports "${ALGORITHM}".`);
    const credential = parseCredential(get('X-Amz-Credential'));
    const signedHeaders = get('X-Amz-SignedHeaders');
    const sig = get('X-Amz-Signature');
    const date = get('X-Amz-Date');
    const expires = get('X-Amz-Expires');
    if (!credential || !signedHeaders || !sig || !date || !expires) {
      throw new S3Error('AuthorizationQueryParametersError', 'Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
    }
    if (!/^\d+$/.test(expires) || Number(expires) < 1 || Number(expires) > MAX_PRESIGNED_EXPIRES) {
      throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Expires must be from 1 to 604800 seconds.');
    }
    auth = { ...credential, signedHeaders: signedHeaders.split(';'), signature: sig };
    amzDate = date;
    payloadHash = header(request.rawHeaders, 'x-amz-content-sha256') ?? UNSIGNED_PAYLOAD;
    signedQuery = query.filter(([k]) => k !== 'X-Amz-Signature');
    const signedAt = parseAmzDate(date);
    if (signedAt !== undefined && options.now > signedAt + Number(expires) * 1000) throw new S3Error('AccessDenied', 'Request has expired.');
  }

  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) throw new S3Error('AccessDenied', 'AWS authentication requires a valid x-amz-date in the form yyyymmddThhmmssZ.');
  if (auth.terminal !== 'aws4_request' || auth.service !== 's3' || auth.date !== amzDate.slice(0, 8)) {
    throw new S3Error('AuthorizationHeaderMalformed', `The credential scope must be <date of x-amz-date>/${options.region}/s3/aws4_request.`);
  }
  if (auth.region !== options.region) {
    throw new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${options.region}'.`);
  }
  if (!auth.signedHeaders.includes('host')) throw new S3Error('AccessDenied', 'The host header must be signed.');
  // A presigned URL is checked against its expiry instead: it may be used long after signing.
  if (!presigned && Math.abs(options.now - signedAt) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
  }
  if (presigned && signedAt - options.now > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
  }

  const token = header(request.rawHeaders, 'x-amz-security-token') ?? query.find(([k]) => k === 'X-Amz-Security-Token')?.[1];
  const credential = await admit(auth.accessKeyId, token, options);

  const path = percentDecode(request.path);
  if (path === undefined) throw new S3Error('InvalidRequest', 'The request path is not valid percent-encoding.');
  const headers = canonicalHeaders(request.rawHeaders, auth.signedHeaders);
  if ('missing' in headers) throw new S3Error('AccessDenied', `The signed header ${headers.missing} is missing from the request.`);
  const scope = credentialScope(auth.date, auth.region, auth.service);
  const text = canonicalRequest({
    method: request.method,
    canonicalUri: canonicalUri(path),
    canonicalQuery: canonicalQuery(signedQuery),
    canonicalHeaders: headers.block,
    signedHeaders: auth.signedHeaders,
    payloadHash,
  });
  const key = signingKey(credential.secretAccessKey, auth.date, auth.region, auth.service);
  const expected = signature(key, stringToSign(amzDate, scope, text));
  if (!secretsEqual(auth.signature, expected)) {
    throw new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  return { credential, payloadHash, chunkSigning: { key, amzDate, scope, seedSignature: expected } };
}

/**
 * The credential a request names, if the session token it presents is that credential's and
 * the credential has not expired: one rule whatever the signature version.
 */
async function admit(accessKeyId: string, token: string | undefined, options: AuthOptions): Promise<UploadCredential> {
  const credential = await options.credential(accessKeyId);
  if (!credential) throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (token === undefined || !credential.sessionTokenMatches(token)) throw new S3Error('InvalidToken', 'The provided token is malformed or otherwise invalid.');
  if (options.isExpired(credential)) throw new S3Error('ExpiredToken', 'The provided token has expired.');
  return credential;
}

/**
 * SigV2: `Authorization: AWS <key id>:<signature>` with a Date (or x-amz-date) within the
 * allowed skew, or a presigned query (AWSAccessKeyId, Expires, Signature) not yet expired. The
 * body is not part of the signature: a Content-MD5 header (signed) and any checksum are checked
 * against it by `decodeBody`, and an x-amz-content-sha256 that is a digest too.
 */
async function authenticateV2(request: IncomingS3Request, query: [string, string][], authorization: string | undefined, options: AuthOptions): Promise<Authenticated> {
  let accessKeyId: string;
  let given: string;
  /** What stands in the Date position of the string to sign. */
  let date: string;
  /** The x-amz-* query parameters a presigned URL carries (its session token), signed as headers. */
  let amzParameters: [string, string][] = [];
  const amzDate = header(request.rawHeaders, 'x-amz-date');
  if (authorization !== undefined) {
    const parsed = parseAuthorizationV2(authorization);
    if (!parsed) throw new S3Error('InvalidArgument', 'The authorization header is malformed; it must be "AWS <AWSAccessKeyId>:<Signature>".');
    ({ accessKeyId, signature: given } = parsed);
    const httpDate = header(request.rawHeaders, 'date');
    const signedAt = parseHttpDate(amzDate ?? httpDate ?? '');
    if (signedAt === undefined) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    if (Math.abs(options.now - signedAt) > MAX_SKEW_MS) {
      throw new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    }
    date = amzDate !== undefined ? '' : httpDate!;
  } else {
    const get = (name: string) => query.find(([k]) => k === name)?.[1];
    const id = get('AWSAccessKeyId');
    const sig = get('Signature');
    const expires = get('Expires');
    if (!id || !sig || !expires) throw new S3Error('AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters');
    if (!/^\d{1,12}$/.test(expires)) throw new S3Error('AccessDenied', `Invalid date (should be seconds since epoch): ${expires}`);
    if (options.now > Number(expires) * 1000) throw new S3Error('AccessDenied', 'Request has expired');
    accessKeyId = id;
    given = sig;
    date = expires;
    amzParameters = query.filter(([k]) => k.toLowerCase().startsWith('x-amz-'));
  }

  const token = header(request.rawHeaders, 'x-amz-security-token') ?? query.find(([k]) => k.toLowerCase() === 'x-amz-security-token')?.[1];
  const credential = await admit(accessKeyId, token, options);

  const signed = (dateField: string, amzHeaders: string) =>
    signatureV2(
      credential.secretAccessKey,
      stringToSignV2({
        method: request.method,
        contentMd5: header(request.rawHeaders, 'content-md5') ?? '',
        contentType: header(request.rawHeaders, 'content-type') ?? '',
        date: dateField,
        amzHeaders,
        resource: canonicalizedResource(request.path, request.virtualHostBucket, query),
      }),
    );
  let matches = secretsEqual(given, signed(date, canonicalizedAmzHeaders(request.rawHeaders, amzParameters)));
  if (!matches && authorization !== undefined && amzDate !== undefined) {
    // AWS's own x-amz-date example signs that date in the Date position, without the header line.
    const others = request.rawHeaders.filter((_, i) => request.rawHeaders[i - (i % 2)]!.toLowerCase() !== 'x-amz-date');
    matches = secretsEqual(given, signed(amzDate, canonicalizedAmzHeaders(others)));
  }
  if (!matches) {
    throw new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }

  const hash = header(request.rawHeaders, 'x-amz-content-sha256');
  if (hash !== undefined && hash.startsWith('STREAMING-')) throw new S3Error('InvalidRequest', 'aws-chunked bodies need AWS Signature Version 4.');
  return { credential, payloadHash: hash !== undefined && /^[0-9a-f]{64}$/.test(hash) ? hash : UNSIGNED_PAYLOAD, chunkSigning: undefined };
}

/** The query's decoded pairs, or S3's error for bad percent-encoding. */
export function parseQueryOrFail(raw: string): [string, string][] {
  const pairs = parseQuery(raw);
  if (!pairs) throw new S3Error('InvalidArgument', 'The query string is not valid percent-encoding.');
  return pairs;
}

/**
 * The object bytes of an authenticated request's body, after every check its signing mode
 * and checksums ask for; anonymous requests (reads) have none to check.
 */
export function decodeBody(auth: Authenticated, body: Buffer, rawHeaders: readonly string[]): Buffer {
  const hash = auth.payloadHash;
  let content: Buffer;
  const checks = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if ((name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type' && name !== 'x-amz-checksum-algorithm') || name === 'content-md5') checks.set(name, rawHeaders[i + 1]!);
  }
  if (hash === STREAMING_SIGNED || hash === STREAMING_SIGNED_TRAILER || hash === STREAMING_UNSIGNED_TRAILER) {
    const trailer = hash !== STREAMING_SIGNED;
    const signing = hash === STREAMING_UNSIGNED_TRAILER ? undefined : auth.chunkSigning;
    if (hash !== STREAMING_UNSIGNED_TRAILER && !signing) throw new S3Error('InvalidRequest', 'aws-chunked bodies need AWS Signature Version 4.');
    const decoded = decodeAwsChunked(body, signing, trailer);
    content = decoded.content;
    const declared = header(rawHeaders, 'x-amz-trailer');
    for (const name of declared ? declared.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '') : []) {
      if (!decoded.trailers.has(name)) throw new S3Error('IncompleteBody', `The declared trailer ${name} is missing.`);
    }
    for (const [name, value] of decoded.trailers) checks.set(name, value);
    const decodedLength = header(rawHeaders, 'x-amz-decoded-content-length');
    if (decodedLength !== undefined && Number(decodedLength) !== content.length) {
      throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the x-amz-decoded-content-length header.');
    }
  } else if (hash === UNSIGNED_PAYLOAD) {
    content = body;
  } else if (/^[0-9a-f]{64}$/.test(hash)) {
    if (sha256Hex(body) !== hash) throw new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    content = body;
  } else {
    throw new S3Error('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.');
  }
  verifyChecksums(content, checks);
  return content;
}
