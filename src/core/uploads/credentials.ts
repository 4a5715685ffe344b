import { createHmac, randomBytes } from 'node:crypto';
import type { CoreContext } from '../kernel/context.js';
import { NotFoundError, ValidationError } from '../kernel/errors.js';
import { secretsEqual, secretDigest, type StreamId } from '../kernel/ids.js';

/**
 * Temporary S3 credentials for a stream's uploader (Kickflip's `stream/start` hands them to
 * the SDK, which PUTs its HLS segments with them). They look like AWS STS session credentials
 * because the SDKs treat them as such: an access key id `ASIA…`, a 40-character secret and a
 * session token. Nothing secret is stored: the secret access key is an HMAC of the access key
 * id under an installation secret, and the session token is kept as its sha256 digest.
 */

export interface UploadGrant {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ISO-8601 UTC. */
  expiresAt: string;
  bucket: string;
  region: string;
  /** '<app>/<username>/<stream_id>/': the credential writes only keys starting with it. */
  prefix: string;
  /** '<public url>/s3/<bucket>/<prefix>': PUT uploadUrl + name stores name. */
  uploadUrl: string;
}

/** A credential as the upload endpoint checks a request against it. */
export interface UploadCredential {
  accessKeyId: string;
  secretAccessKey: string;
  streamId: StreamId;
  prefix: string;
  expiresAt: string;
  /** Whether `presented` is this credential's session token (constant-time). */
  sessionTokenMatches(presented: string): boolean;
}

/** A credential writes objects under its stream's prefix only (the prefix itself is no object). */
export function mayWrite(credential: UploadCredential, key: string): boolean {
  return key.startsWith(credential.prefix) && key.length > credential.prefix.length;
}

export interface UploadOptions {
  bucket: string;
  region: string;
  /** Base of the URLs handed out, without a trailing slash. */
  publicUrl: string;
  /** Seconds a fresh credential is valid. */
  lifetimeSeconds: number;
  /** Seconds a credential stays valid after its stream is released (stopped). */
  graceSeconds: number;
}

/** The embedded defaults (the server passes its configured values). */
export const DEFAULT_UPLOAD_OPTIONS: UploadOptions = {
  bucket: 'streamdelta',
  region: 'us-east-1',
  publicUrl: 'http://localhost:8080',
  lifetimeSeconds: 86400,
  graceSeconds: 600,
};

/** Expired credentials are kept this long (answering ExpiredToken rather than an unknown key), then forgotten. */
const FORGET_AFTER_MS = 24 * 3600 * 1000;
const MAX_PREFIX_LENGTH = 512;
/** RFC 4648 base32: upper-case letters and digits, as in AWS key ids. */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** 'ASIA' and 16 characters of base32 (80 random bits): the shape of an AWS temporary access key id. */
function newAccessKeyId(): string {
  const bytes = randomBytes(16);
  let id = 'ASIA';
  for (let i = 0; i < 16; i++) id += BASE32[bytes[i]! & 31];
  return id;
}

export const ACCESS_KEY_ID_SHAPE = /^ASIA[A-Z2-7]{16}$/;

/** A key prefix a credential may be limited to: relative path segments ending with '/'. */
export function checkUploadPrefix(prefix: string): string {
  const segments = prefix.split('/');
  const ok =
    prefix.length > 1 &&
    prefix.length <= MAX_PREFIX_LENGTH &&
    prefix.endsWith('/') &&
    segments.slice(0, -1).every((s) => s !== '' && s !== '.' && s !== '..') &&
    // Control characters and backslashes have no place in an object key we hand out.
    !/[\u0000-\u001f\u007f\\]/.test(prefix);
  if (!ok) throw new ValidationError('Invalid upload prefix', { prefix: 'must be path segments ending with "/"' });
  return prefix;
}

/** Each path segment percent-encoded, as an S3 key appears in a URL. */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** Where the S3-compatible upload endpoint is mounted, path-style, under the server's public URL. */
export const UPLOAD_MOUNT = '/s3';

/** The path-style URL of an object (or of a key prefix, to which a file name is appended). */
export function objectUrl(publicUrl: string, bucket: string, key: string): string {
  return `${publicUrl}${UPLOAD_MOUNT}/${encodeURIComponent(bucket)}/${encodeKeyPath(key)}`;
}

export class UploadService {
  private signingSecret: Promise<string> | undefined;

  constructor(
    private readonly ctx: CoreContext,
    readonly options: UploadOptions,
    /** The installation secret the secret access keys are derived from (Core.secret). */
    private readonly installationSecret: (name: string, make: () => string) => Promise<string>,
  ) {}

  get bucket(): string {
    return this.options.bucket;
  }

  get region(): string {
    return this.options.region;
  }

  private async secretFor(accessKeyId: string): Promise<string> {
    this.signingSecret ??= this.installationSecret('upload-credentials', () => randomBytes(32).toString('base64url'));
    let secret: string;
    try {
      secret = await this.signingSecret;
    } catch (err) {
      this.signingSecret = undefined;
      throw err;
    }
    // 43 base64 characters of the HMAC, cut to the 40 of an AWS secret access key.
    return createHmac('sha256', secret).update(`s3-secret-access-key:${accessKeyId}`).digest('base64').slice(0, 40);
  }

  /** New credentials for the stream's uploader, writing only under `prefix` (at stream start). */
  async grant(streamId: StreamId, prefix: string): Promise<UploadGrant> {
    checkUploadPrefix(prefix);
    const stream = await this.ctx.store.streams.findById(streamId);
    if (!stream) throw new NotFoundError('No such stream');
    const now = this.ctx.now();
    const accessKeyId = newAccessKeyId();
    // 120 random bytes in base64, about as long as an STS session token.
    const sessionToken = randomBytes(120).toString('base64');
    const expiresAt = new Date(Date.parse(now) + this.options.lifetimeSeconds * 1000).toISOString();
    await this.ctx.store.uploadCredentials.deleteExpiredBefore(new Date(Date.parse(now) - FORGET_AFTER_MS).toISOString());
    await this.ctx.store.uploadCredentials.insert({
      access_key_id: accessKeyId,
      stream_id: streamId,
      prefix,
      session_token_digest: secretDigest(sessionToken),
      expires_at: expiresAt,
      created_at: now,
    });
    return {
      accessKeyId,
      secretAccessKey: await this.secretFor(accessKeyId),
      sessionToken,
      expiresAt,
      bucket: this.options.bucket,
      region: this.options.region,
      prefix,
      uploadUrl: objectUrl(this.options.publicUrl, this.options.bucket, prefix),
    };
  }

  /**
   * The stream stopped: its credentials keep working for the grace period (the SDKs upload
   * the last segment and the VOD playlist after `stream/stop`), then never again.
   */
  async release(streamId: StreamId): Promise<void> {
    const cap = new Date(Date.parse(this.ctx.now()) + this.options.graceSeconds * 1000).toISOString();
    await this.ctx.store.uploadCredentials.capExpiry(streamId, cap);
  }

  /** The credential with this access key id, expired or not, or undefined. */
  async credential(accessKeyId: string): Promise<UploadCredential | undefined> {
    if (!ACCESS_KEY_ID_SHAPE.test(accessKeyId)) return undefined;
    const row = await this.ctx.store.uploadCredentials.findByAccessKeyId(accessKeyId);
    if (!row) return undefined;
    const digest = row.session_token_digest;
    return {
      accessKeyId,
      secretAccessKey: await this.secretFor(accessKeyId),
      streamId: row.stream_id as StreamId,
      prefix: row.prefix,
      expiresAt: row.expires_at,
      sessionTokenMatches: (presented) => presented.length <= 4096 && secretsEqual(digest, secretDigest(presented)),
    };
  }

  /** Whether the credential has expired now. */
  isExpired(credential: UploadCredential): boolean {
    return Date.parse(credential.expiresAt) <= Date.parse(this.ctx.now());
  }

  /** Multipart uploads begun before this can never be completed: no credential lives that long. */
  abandonedBefore(): string {
    const longest = (this.options.lifetimeSeconds + this.options.graceSeconds) * 1000;
    return new Date(Date.parse(this.ctx.now()) - longest).toISOString();
  }
}
