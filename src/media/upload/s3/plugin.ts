import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { InUseError, NotFoundError, ValidationError } from '../../../core/kernel/errors.js';
import { mayWrite, objectUrl, type UploadCredential, type UploadService } from '../../../core/uploads/credentials.js';
import type { MultipartUploadService } from '../../../core/uploads/multipart.js';
import type { UploadIngest } from '../ingest.js';
import { authenticate, decodeBody, parseQueryOrFail, type Authenticated } from './auth.js';
import { S3Error, errorXml } from './errors.js';
import { percentDecode } from './sigv4.js';
import { completeMultipartUploadResult, initiateMultipartUploadResult, parseCompleteMultipartUpload } from './xml.js';

/**
 * The S3-compatible upload endpoint: the operations the Kickflip SDKs (AWS TransferManager)
 * and the AWS SDKs use to upload, with S3's XML errors. Path-style `/s3/<bucket>/<key>`, and
 * virtual-hosted style (`Host: <bucket>.…`, path `/<key>`), which `virtualHostRewrite` turns
 * into the path-style URL before routing while the signature is checked against the path the
 * client signed.
 *
 * Writes need a temporary upload credential (core.uploads), and go only under its prefix; the
 * objects go to the upload ingest, which also answers reads: anonymous GET/HEAD of objects
 * uploaded with the canned ACL public-read (the Kickflip thumbnail URL points at the bucket).
 */

/** What the S3 endpoint needs from the core: upload credentials, multipart uploads, and the clock signatures are checked against. */
export interface S3Core {
  uploads: UploadService;
  multipartUploads: MultipartUploadService;
  /** The current time, ISO-8601 UTC. */
  now: () => string;
}

export interface S3PluginOptions {
  core: S3Core;
  ingest: UploadIngest;
  /** Largest object, single or assembled, in bytes. */
  maxObjectSize: number;
  /** Most parts of a multipart upload. */
  maxParts: number;
}

/** Presigned URLs (SigV4 and SigV2) carry the session token (a secret) and the signature in their query: never logged. */
export const S3_SECRET_PATHS = [/([?&](?:X-Amz-Security-Token|X-Amz-Signature|Signature)=)[^&]*/gi];

/** S3's smallest part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const CONTENT_TYPE_XML = 'application/xml';

type Operation =
  | 'GetObject'
  | 'HeadObject'
  | 'PutObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload';

interface Target {
  requestId: string;
  bucket: string;
  /** The object key (decoded), '' for the bucket itself. */
  key: string;
  query: Map<string, string>;
  operation: Operation | undefined;
  auth: Authenticated | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    s3Target?: Target;
  }
}

/** The URL as the client sent it, before a virtual-hosted rewrite. */
function originalUrl(request: FastifyRequest): string {
  return (request.raw as { originalUrl?: string }).originalUrl ?? request.raw.url ?? request.url;
}

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function operationOf(method: string, key: string, query: Map<string, string>): Operation | undefined {
  if (key === '') return undefined;
  switch (method) {
    case 'GET':
      return query.has('uploadId') ? undefined : 'GetObject';
    case 'HEAD':
      return query.has('uploadId') ? undefined : 'HeadObject';
    case 'PUT':
      if (query.has('uploadId') || query.has('partNumber')) return 'UploadPart';
      return 'PutObject';
    case 'POST':
      if (query.has('uploads')) return 'CreateMultipartUpload';
      if (query.has('uploadId')) return 'CompleteMultipartUpload';
      return undefined;
    case 'DELETE':
      return query.has('uploadId') ? 'AbortMultipartUpload' : undefined;
    default:
      return undefined;
  }
}

const WRITES = new Set<Operation>(['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'AbortMultipartUpload']);

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export const s3Plugin: FastifyPluginAsync<S3PluginOptions> = async (app, options) => {
  const { core, ingest } = options;
  const uploads = core.uploads;
  const bucket = uploads.bucket;
  const mount = app.prefix;
  // aws-chunked bodies carry chunk headers (about 90 bytes per chunk of at least 8 KiB) on top of the object.
  const wireLimit = options.maxObjectSize + Math.ceil(options.maxObjectSize / 8192) * 128 + 64 * 1024;

  // Object bodies are bytes whatever their declared type: no parser of the server may touch them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: wireLimit }, (_request, body, done) => done(null, body));

  app.setErrorHandler(async (error, request, reply) => {
    const requestId = request.s3Target?.requestId ?? newRequestId();
    let s3: S3Error;
    if (error instanceof S3Error) s3 = error;
    else if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') s3 = new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
    else if ((error as { code?: string }).code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') s3 = new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    else if ((error as { statusCode?: number }).statusCode === 415) s3 = new S3Error('InvalidArgument', 'The Content-Type header is malformed.');
    else {
      request.log.error({ err: error }, 's3 request failed');
      s3 = new S3Error('InternalError', 'We encountered an internal error. Please try again.');
    }
    reply.status(s3.status).header('x-amz-request-id', requestId).header('content-type', CONTENT_TYPE_XML);
    return reply.send(request.method === 'HEAD' ? '' : errorXml(s3, requestId, splitUrl(originalUrl(request)).path));
  });

  app.setNotFoundHandler(async (request, reply) => {
    const requestId = newRequestId();
    reply.status(404).header('x-amz-request-id', requestId).header('content-type', CONTENT_TYPE_XML);
    return reply.send(errorXml(new S3Error('NoSuchBucket', 'The specified bucket does not exist.'), requestId));
  });

  /**
   * Before the body is read: what is asked, by whom, and whether they may. A refused upload is
   * answered without reading (or keeping) its body.
   */
  app.addHook('onRequest', async (request) => {
    const requestId = newRequestId();
    const { path, query: rawQuery } = splitUrl(request.url);
    const rest = path.slice(mount.length).replace(/^\//, '');
    const slash = rest.indexOf('/');
    const bucketPart = percentDecode(slash < 0 ? rest : rest.slice(0, slash)) ?? '';
    const key = percentDecode(slash < 0 ? '' : rest.slice(slash + 1));
    const target: Target = { requestId, bucket: bucketPart, key: key ?? '', query: new Map(), operation: undefined, auth: undefined };
    request.s3Target = target;
    if (key === undefined) throw new S3Error('InvalidArgument', 'The object key is not valid percent-encoding.');
    for (const [name, value] of parseQueryOrFail(rawQuery)) target.query.set(name, value);

    const original = splitUrl(originalUrl(request));
    // Rewritten from a bucket Host (virtual-hosted style): SigV2 signs '/<bucket>' before the path.
    const virtualHostBucket = originalUrl(request) !== request.raw.url ? target.bucket : undefined;
    target.auth = await authenticate(
      { method: request.method, path: original.path, query: original.query, rawHeaders: request.raw.rawHeaders, virtualHostBucket },
      { region: uploads.region, now: Date.parse(core.now()), credential: (id) => uploads.credential(id), isExpired: (c) => uploads.isExpired(c) },
    );

    if (target.bucket !== bucket) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist.');
    target.operation = operationOf(request.method, target.key, target.query);
    if (target.operation === undefined) {
      // Listing, bucket operations, copies and deletes are not offered: uploaders only write.
      if (target.auth === undefined) throw new S3Error('AccessDenied', 'Access Denied');
      throw new S3Error('NotImplemented', 'A header or query you provided implies functionality that is not implemented.');
    }
    if (WRITES.has(target.operation)) {
      if (!target.auth) throw new S3Error('AccessDenied', 'Access Denied');
      if (!mayWrite(target.auth.credential, target.key)) throw new S3Error('AccessDenied', 'Access Denied');
      if (header(request, 'x-amz-copy-source') !== undefined) throw new S3Error('NotImplemented', 'Copying objects is not implemented.');
      for (const name of ['content-length', 'x-amz-decoded-content-length']) {
        const declared = header(request, name);
        if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > wireLimit) {
          throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
        }
      }
    }
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const target = request.s3Target!;
    reply.header('x-amz-request-id', target.requestId);
    switch (target.operation) {
      case 'GetObject':
      case 'HeadObject':
        return getObject(request, reply, target);
      case 'PutObject':
        return putObject(request, reply, target);
      case 'CreateMultipartUpload':
        return createMultipartUpload(request, reply, target);
      case 'UploadPart':
        return uploadPart(request, reply, target);
      case 'CompleteMultipartUpload':
        return completeMultipartUpload(request, reply, target);
      case 'AbortMultipartUpload':
        return abortMultipartUpload(reply, target);
      default:
        throw new S3Error('NotImplemented', 'Not implemented.');
    }
  };

  /** The object bytes of an authenticated write, checked against its signature mode and checksums. */
  function content(request: FastifyRequest, target: Target): Buffer {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const bytes = decodeBody(target.auth!, body, request.raw.rawHeaders);
    if (bytes.length > options.maxObjectSize) throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
    return bytes;
  }

  function credentialOf(target: Target): UploadCredential {
    return target.auth!.credential;
  }

  async function store(target: Target, key: string, body: Buffer, meta: { contentType: string | undefined; cacheControl: string | undefined; publicRead: boolean }) {
    const credential = credentialOf(target);
    try {
      return await ingest.put({ streamId: credential.streamId, prefix: credential.prefix }, key.slice(credential.prefix.length), body, {
        ...(meta.contentType !== undefined ? { contentType: meta.contentType } : {}),
        ...(meta.cacheControl !== undefined ? { cacheControl: meta.cacheControl } : {}),
        publicRead: meta.publicRead,
      });
    } catch (err) {
      if (err instanceof ValidationError) throw new S3Error('InvalidArgument', err.message);
      if (err instanceof InUseError) throw new S3Error('OperationAborted', err.message);
      if (err instanceof NotFoundError) throw new S3Error('AccessDenied', 'Access Denied');
      throw err;
    }
  }

  function metaOf(request: FastifyRequest) {
    return {
      contentType: header(request, 'content-type'),
      cacheControl: header(request, 'cache-control'),
      publicRead: header(request, 'x-amz-acl') === 'public-read',
    };
  }

  async function putObject(request: FastifyRequest, reply: FastifyReply, target: Target) {
    const body = content(request, target);
    const { etag } = await store(target, target.key, body, metaOf(request));
    return reply.status(200).header('etag', `"${etag}"`).send('');
  }

  async function createMultipartUpload(request: FastifyRequest, reply: FastifyReply, target: Target) {
    const credential = credentialOf(target);
    // Uploads no credential can complete any more: drop a few as new ones begin.
    await core.multipartUploads.removeBegunBefore(uploads.abandonedBefore(), 10);
    const upload = await core.multipartUploads.begin({ streamId: credential.streamId, prefix: credential.prefix, key: target.key, ...metaOf(request) });
    return reply.status(200).header('content-type', CONTENT_TYPE_XML).send(initiateMultipartUploadResult(bucket, target.key, upload.id));
  }

  /** The upload named by ?uploadId, if it is this credential's stream's and this key's. */
  async function uploadOf(target: Target) {
    const id = target.query.get('uploadId') ?? '';
    const upload = id === '' ? undefined : await core.multipartUploads.find(id);
    const credential = credentialOf(target);
    if (!upload || upload.streamId !== credential.streamId || upload.key !== target.key) {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
    }
    return upload;
  }

  async function uploadPart(request: FastifyRequest, reply: FastifyReply, target: Target) {
    const number = target.query.get('partNumber') ?? '';
    if (!/^\d{1,5}$/.test(number) || Number(number) < 1 || Number(number) > options.maxParts) {
      throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${options.maxParts}, inclusive.`);
    }
    if (!target.query.has('uploadId')) throw new S3Error('InvalidArgument', 'UploadPart needs an uploadId.');
    const upload = await uploadOf(target);
    const body = content(request, target);
    const part = await core.multipartUploads.putPart(upload, Number(number), body);
    return reply.status(200).header('etag', `"${part.etag}"`).send('');
  }

  async function completeMultipartUpload(request: FastifyRequest, reply: FastifyReply, target: Target) {
    const upload = await uploadOf(target);
    const requested = parseCompleteMultipartUpload(content(request, target).toString('utf8'));
    const stored = new Map((await core.multipartUploads.parts(upload.id)).map((p) => [p.partNumber, p]));
    requested.forEach((part, i) => {
      if (i > 0 && part.partNumber <= requested[i - 1]!.partNumber) {
        throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
      }
    });
    const sizes = requested.map((part) => {
      const have = stored.get(part.partNumber);
      if (!have || have.etag !== part.etag) {
        throw new S3Error('InvalidPart', "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.");
      }
      return have.size;
    });
    if (sizes.slice(0, -1).some((size) => size < MIN_PART_SIZE)) {
      throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
    }
    const total = sizes.reduce((sum, size) => sum + size, 0);
    if (total > options.maxObjectSize) throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
    const bytes = await core.multipartUploads.assemble(upload.id, requested.map((p) => p.partNumber));
    const { etag } = await store(target, upload.key, bytes, upload);
    await core.multipartUploads.remove(upload.id);
    const location = objectUrl(uploads.options.publicUrl, bucket, upload.key);
    return reply.status(200).header('content-type', CONTENT_TYPE_XML).send(completeMultipartUploadResult(location, bucket, upload.key, `"${etag}"`));
  }

  async function abortMultipartUpload(reply: FastifyReply, target: Target) {
    const upload = await uploadOf(target);
    await core.multipartUploads.remove(upload.id);
    return reply.status(204).send();
  }

  async function getObject(request: FastifyRequest, reply: FastifyReply, target: Target) {
    const object = await ingest.get(target.key);
    if (!object) throw new S3Error('NoSuchKey', 'The specified key does not exist.');
    reply
      .status(200)
      .header('content-type', object.contentType)
      .header('content-length', object.size)
      .header('etag', `"${object.etag}"`)
      .header('last-modified', new Date(object.lastModified).toUTCString())
      .header('accept-ranges', 'none')
      // Uploads are served from the dashboard's own origin: whatever type an uploader claims,
      // nothing in them may run as a page of this server (no script, no sniffing, no framing).
      .header('content-security-policy', "sandbox; default-src 'none'")
      .header('x-content-type-options', 'nosniff')
      .header('cross-origin-resource-policy', 'cross-origin');
    if (!/^(video|audio|image)\/|^application\/(vnd\.apple\.mpegurl|x-mpegurl|octet-stream|json)$/i.test(object.contentType)) {
      reply.header('content-disposition', 'attachment');
    }
    if (object.cacheControl !== undefined) reply.header('cache-control', object.cacheControl);
    if (request.method === 'HEAD') {
      object.stream.destroy();
      return reply.send();
    }
    return reply.send(object.stream);
  }

  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/', exposeHeadRoute: false, handler });
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/:bucket', exposeHeadRoute: false, handler });
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/:bucket/*', exposeHeadRoute: false, handler });
};

function newRequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}
