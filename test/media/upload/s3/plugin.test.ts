/**
 * The S3-compatible upload endpoint end to end, with the official AWS SDK for JavaScript
 * (`@aws-sdk/client-s3`) using credentials granted by core.uploads, as Kickflip's SDKs use
 * those `stream/start` returns; and with requests signed by the SDK's own signer
 * (`@smithy/signature-v4`) where a test needs a request the client would not send (an old
 * signing time, a virtual-hosted Host).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type { StreamId } from '../../../../src/core/kernel/ids.js';
import type { UploadGrant } from '../../../../src/core/uploads/credentials.js';
import { virtualHostRewrite } from '../../../../src/media/upload/s3/virtual-host.js';
import { databaseKinds } from '../../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../../helpers/server.js';

const MiB = 1024 * 1024;
const BUCKET = 'streamdelta';

/** sha256 and HMAC-SHA256 in the shape the SDK's signer asks for. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

let counter = 0;

function client(server: TestServer, grant: Pick<UploadGrant, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>, region = 'us-east-1'): S3Client {
  return new S3Client({
    endpoint: `${server.url}/s3`,
    forcePathStyle: true,
    region,
    credentials: { accessKeyId: grant.accessKeyId, secretAccessKey: grant.secretAccessKey, sessionToken: grant.sessionToken },
    // A refusal must reach the test as it is, not be retried.
    maxAttempts: 1,
  });
}

async function s3Failure(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  assert.fail('the request was accepted');
}

/** A raw HTTP request (any Host header), answering status, headers and body. */
function send(server: TestServer, options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: options.method, path: options.path, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Signs a request for `host` + `path` with the SDK's signer, as of `signingDate`. */
async function signed(grant: UploadGrant, options: { method: string; host: string; path: string; body: Buffer; headers?: Record<string, string>; signingDate?: Date }) {
  const signer = new SignatureV4({
    service: 's3',
    region: grant.region,
    credentials: { accessKeyId: grant.accessKeyId, secretAccessKey: grant.secretAccessKey, sessionToken: grant.sessionToken },
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
  const request = await signer.sign(
    {
      method: options.method,
      protocol: 'http:',
      hostname: options.host,
      path: options.path,
      query: {},
      headers: {
        host: options.host,
        'content-length': String(options.body.length),
        'x-amz-content-sha256': createHash('sha256').update(options.body).digest('hex'),
        ...options.headers,
      },
      body: options.body,
    },
    options.signingDate ? { signingDate: options.signingDate } : {},
  );
  return request.headers as Record<string, string>;
}

for (const kind of databaseKinds()) {
  describe(`S3 upload endpoint (${kind})`, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(kind, { uploadGrace: '1', uploadMaxObjectSize: String(6 * MiB) });
    });
    after(async () => {
      await server?.close();
    });

    const core = () => server.running.core;

    async function grantFor(): Promise<{ grant: UploadGrant; streamId: StreamId }> {
      const account = await core().accounts.create({ username: `s3user${process.pid}x${++counter}`, password: 'correct horse battery' });
      const stream = await core().streams.create(account.id);
      const grant = await core().uploads.grant(stream.id, `kickflip/${account.username}/${stream.id}/`);
      return { grant, streamId: stream.id };
    }

    const objectUrl = (key: string) => `${server.url}/s3/${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`;

    test('a grant looks like AWS session credentials for the configured bucket and region', async () => {
      const { grant, streamId } = await grantFor();
      assert.match(grant.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
      assert.equal(grant.secretAccessKey.length, 40);
      assert.ok(grant.sessionToken.length >= 100);
      assert.equal(grant.bucket, BUCKET);
      assert.equal(grant.region, 'us-east-1');
      assert.ok(grant.prefix.endsWith(`/${streamId}/`));
      assert.equal(grant.uploadUrl, `${server.running.config.publicUrl}/s3/${BUCKET}/${grant.prefix}`);
      const inFuture = Date.parse(grant.expiresAt) - Date.now();
      assert.ok(inFuture > 86000 * 1000 && inFuture <= 86400 * 1000, grant.expiresAt);
      // Neither the secret nor the session token is stored.
      const rows = await server.snapshot();
      assert.ok(!rows.includes(grant.secretAccessKey));
      assert.ok(!rows.includes(grant.sessionToken));
    });

    test('PutObject as the SDKs send it (public-read, Cache-Control), then an anonymous GET and HEAD of the object', async () => {
      const { grant } = await grantFor();
      const s3 = client(server, grant);
      const key = `${grant.prefix}thumb.jpg`;
      const body = Buffer.from('not really a jpeg, but bytes all the same');
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ACL: 'public-read', ContentType: 'image/jpeg', CacheControl: 'max-age=0' }));
      assert.equal(put.ETag, `"${createHash('md5').update(body).digest('hex')}"`);

      const get = await fetch(objectUrl(key));
      assert.equal(get.status, 200);
      assert.deepEqual(Buffer.from(await get.arrayBuffer()), body);
      assert.equal(get.headers.get('content-type'), 'image/jpeg');
      assert.equal(get.headers.get('cache-control'), 'max-age=0');
      assert.equal(get.headers.get('etag'), put.ETag);
      const head = await fetch(objectUrl(key), { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(body.length));

      // The uploader may read it back through the SDK too.
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);

      // A key with spaces and other characters that need encoding.
      const odd = `${grant.prefix}a dir/ünïcode + plus=.txt`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: odd, Body: 'odd', ACL: 'public-read' }));
      assert.equal(await (await fetch(objectUrl(odd))).text(), 'odd');
    });

    test('an upload claiming to be a page is served inert: sandboxed, not sniffed, downloaded rather than shown', async () => {
      const { grant } = await grantFor();
      const s3 = client(server, grant);
      const key = `${grant.prefix}evil.html`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '<script>fetch("/app/api/access-tokens")</script>', ACL: 'public-read', ContentType: 'text/html' }));
      const get = await fetch(objectUrl(key));
      assert.equal(get.status, 200);
      assert.match(get.headers.get('content-security-policy') ?? '', /^sandbox\b/);
      assert.equal(get.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(get.headers.get('content-disposition'), 'attachment');
      const media = await fetch(objectUrl(`${grant.prefix}thumb.jpg`));
      if (media.status === 200) assert.equal(media.headers.get('content-disposition'), null, 'pictures and video are shown');
    });

    test('a streamed body (aws-chunked with a trailing CRC32) is decoded and stored', async () => {
      const { grant } = await grantFor();
      const s3 = client(server, grant);
      const parts = [Buffer.alloc(70000, 1), Buffer.alloc(30000, 2)];
      const key = `${grant.prefix}index0.ts`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Readable.from(parts), ContentLength: 100000, ACL: 'public-read', ContentType: 'video/mp2t' }));
      assert.deepEqual(Buffer.from(await (await fetch(objectUrl(key))).arrayBuffer()), Buffer.concat(parts));
    });

    test('an object uploaded without public-read is not served anonymously', async () => {
      const { grant } = await grantFor();
      const key = `${grant.prefix}private.bin`;
      await client(server, grant).send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'secret' }));
      const get = await fetch(objectUrl(key));
      assert.equal(get.status, 404);
      assert.match(await get.text(), /<Code>NoSuchKey<\/Code>/);
    });

    test('multipart upload: parts assembled in order on completion, then cleaned up; bad completions refused', async () => {
      const { grant } = await grantFor();
      const s3 = client(server, grant);
      const key = `${grant.prefix}big.bin`;
      const first = Buffer.alloc(5 * MiB, 7);
      const second = Buffer.from('the tail of the object');
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ACL: 'public-read', ContentType: 'application/octet-stream' }));
      assert.ok(UploadId);
      const p1 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: first }));
      const p2 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: second }));
      assert.equal(p1.ETag, `"${createHash('md5').update(first).digest('hex')}"`);

      const complete = (parts: { PartNumber: number; ETag: string | undefined }[]) =>
        s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
      assert.equal((await s3Failure(complete([{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: '"0123456789abcdef0123456789abcdef"' }]))).name, 'InvalidPart');
      assert.equal((await s3Failure(complete([{ PartNumber: 2, ETag: p2.ETag }, { PartNumber: 1, ETag: p1.ETag }]))).name, 'InvalidPartOrder');
      assert.equal((await s3Failure(complete([{ PartNumber: 2, ETag: p2.ETag }, { PartNumber: 3, ETag: p2.ETag }]))).name, 'InvalidPart');
      assert.equal((await fetch(objectUrl(key))).status, 404, 'nothing stored before completion');

      const done = await complete([{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }]);
      assert.equal(done.Key, key);
      const stored = Buffer.from(await (await fetch(objectUrl(key))).arrayBuffer());
      assert.equal(stored.length, first.length + second.length);
      assert.deepEqual(stored, Buffer.concat([first, second]));

      // Completed: the upload and its parts are gone.
      assert.equal((await s3Failure(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 3, Body: 'x' })))).name, 'NoSuchUpload');
      const rows = await server.running.store.db.selectFrom('multipart_parts').selectAll().execute();
      assert.equal(rows.length, 0);
      const partsDir = join(server.running.config.dataDir, 'media', 'multipart', UploadId);
      assert.deepEqual(safeList(partsDir), []);
    });

    test('an aborted multipart upload leaves nothing; too small a part but the last is refused', async () => {
      const { grant } = await grantFor();
      const s3 = client(server, grant);
      const key = `${grant.prefix}aborted.bin`;
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      const a = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: 'small' }));
      const b = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: 'small too' }));
      const small = await s3Failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: a.ETag }, { PartNumber: 2, ETag: b.ETag }] } })));
      assert.equal(small.name, 'EntityTooSmall');
      await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));
      assert.equal((await s3Failure(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId })))).name, 'NoSuchUpload');
      assert.deepEqual(safeList(join(server.running.config.dataDir, 'media', 'multipart', UploadId!)), []);
      assert.equal((await fetch(objectUrl(key))).status, 404);
    });

    test('multipart uploads abandoned longer than any credential lives are removed with their parts', async () => {
      const { grant, streamId } = await grantFor();
      const old = new Date(Date.now() - 2 * 86400 * 1000).toISOString();
      const abandoned = await core().multipartUploads.begin({ streamId, prefix: grant.prefix, key: `${grant.prefix}old.bin`, contentType: undefined, cacheControl: undefined, publicRead: false });
      await core().multipartUploads.putPart(abandoned, 1, Buffer.from('left behind'));
      await server.running.store.db.updateTable('multipart_uploads').set({ created_at: old }).where('id', '=', abandoned.id).execute();
      const partsDir = join(server.running.config.dataDir, 'media', 'multipart', abandoned.id);
      assert.equal(safeList(partsDir).length, 1);
      const s3 = client(server, grant);
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${grant.prefix}new.bin` }));
      assert.equal(await core().multipartUploads.find(abandoned.id), undefined);
      assert.deepEqual(safeList(partsDir), []);
      assert.ok(await core().multipartUploads.find(UploadId!));
      await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: `${grant.prefix}new.bin`, UploadId }));
    });

    test('a write outside the credential\'s prefix, or to another bucket, is refused and stores nothing', async () => {
      const { grant } = await grantFor();
      const other = await grantFor();
      const s3 = client(server, grant);
      const before = await server.snapshot();
      for (const key of [`${other.grant.prefix}index0.ts`, 'kickflip/elsewhere.ts', grant.prefix.slice(0, -1), grant.prefix]) {
        const failure = await s3Failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'intruder', ACL: 'public-read' })));
        assert.deepEqual(failure, { name: 'AccessDenied', status: 403 }, key);
      }
      assert.equal((await s3Failure(s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${other.grant.prefix}big` })))).name, 'AccessDenied');
      assert.equal((await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'another-bucket', Key: `${grant.prefix}x`, Body: 'x' })))).name, 'NoSuchBucket');
      assert.equal(await server.snapshot(), before);
      assert.equal((await fetch(objectUrl(`${other.grant.prefix}index0.ts`))).status, 404);
    });

    test('a key with dot segments is only a name: it is stored inside its stream and reaches no other file', async () => {
      const { grant, streamId } = await grantFor();
      const other = await grantFor();
      const s3 = client(server, grant);
      const sneaky = [`${grant.prefix}../../../../escaped.txt`, `${grant.prefix}..%2f..%2fescaped.txt`, `${grant.prefix}..`, `${grant.prefix}../${other.streamId}/index0.ts`];
      for (const key of sneaky) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'dots', ACL: 'public-read' }));
      const files = (function walk(dir: string): string[] {
        return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
      })(server.running.config.dataDir);
      assert.ok(!files.some((f) => f.endsWith('escaped.txt')), 'no file is named by the key');
      const written = files.filter((f) => f.includes(`${join('uploads', streamId)}`));
      assert.equal(written.length, sneaky.length, `each object is inside its own stream's folder: ${written.join(', ')}`);
      assert.equal(files.filter((f) => f.includes(join('uploads', other.streamId))).length, 0, 'nothing was written for the other stream');
    });

    test('a forged signature, a wrong session token, an unknown key and a wrong region are refused with S3 errors', async () => {
      const { grant } = await grantFor();
      const key = `${grant.prefix}index0.ts`;
      const put = (s3: S3Client) => s3Failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'forged', ACL: 'public-read' })));
      const before = await server.snapshot();
      const forged = `${grant.secretAccessKey.slice(0, -1)}${grant.secretAccessKey.endsWith('A') ? 'B' : 'A'}`;
      assert.deepEqual(await put(client(server, { ...grant, secretAccessKey: forged })), { name: 'SignatureDoesNotMatch', status: 403 });
      assert.deepEqual(await put(client(server, { ...grant, sessionToken: `${grant.sessionToken}x` })), { name: 'InvalidToken', status: 400 });
      assert.deepEqual(await put(client(server, { ...grant, accessKeyId: 'ASIAAAAAAAAAAAAAAAAA' })), { name: 'InvalidAccessKeyId', status: 403 });
      assert.equal((await put(client(server, grant, 'eu-west-1'))).name, 'AuthorizationHeaderMalformed');
      assert.equal(await server.snapshot(), before);

      // The error body is S3's XML, with a request id.
      const anonymous = await fetch(objectUrl(key), { method: 'PUT', body: 'anonymous' });
      assert.equal(anonymous.status, 403);
      assert.match(await anonymous.text(), /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code><Message>[^<]+<\/Message><Resource>[^<]+<\/Resource><RequestId>[0-9A-F]{16}<\/RequestId><\/Error>$/);
      assert.equal(await server.snapshot(), before);
    });

    test('a body that does not match its signed sha256 is refused', async () => {
      const { grant } = await grantFor();
      const host = new URL(server.url).host;
      const path = `/s3/${BUCKET}/${grant.prefix}index0.ts`;
      const headers = await signed(grant, { method: 'PUT', host, path, body: Buffer.from('the signed body') });
      const before = await server.snapshot();
      const reply = await send(server, { method: 'PUT', path, headers, body: Buffer.from('the other body!') });
      assert.equal(reply.status, 400);
      assert.match(reply.body.toString(), /<Code>XAmzContentSHA256Mismatch<\/Code>/);
      assert.equal(await server.snapshot(), before);
    });

    test('a stale request (signed 20 minutes ago, replayed now) is refused as RequestTimeTooSkewed', async () => {
      const { grant } = await grantFor();
      const host = new URL(server.url).host;
      const path = `/s3/${BUCKET}/${grant.prefix}index1.ts`;
      const body = Buffer.from('replayed');
      const headers = await signed(grant, { method: 'PUT', host, path, body, signingDate: new Date(Date.now() - 20 * 60 * 1000) });
      const before = await server.snapshot();
      const reply = await send(server, { method: 'PUT', path, headers, body });
      assert.equal(reply.status, 403);
      assert.match(reply.body.toString(), /<Code>RequestTimeTooSkewed<\/Code>/);
      assert.equal(await server.snapshot(), before);
      // The same request signed now is accepted: only the time was wrong.
      const fresh = await send(server, { method: 'PUT', path, headers: await signed(grant, { method: 'PUT', host, path, body }), body });
      assert.equal(fresh.status, 200, fresh.body.toString());
    });

    test('virtual-hosted style: Host <bucket>.s3.amazonaws.com with path /<key>, signed as the SDKs sign it', async () => {
      const { grant } = await grantFor();
      const host = `${BUCKET}.s3.amazonaws.com`;
      const path = `/${grant.prefix}index.jpg`;
      const body = Buffer.from('virtually hosted');
      const headers = await signed(grant, { method: 'PUT', host, path, body, headers: { 'x-amz-acl': 'public-read', 'content-type': 'image/jpeg' } });
      const put = await send(server, { method: 'PUT', path, headers, body });
      assert.equal(put.status, 200, put.body.toString());
      // Readable both ways: through the bucket host and path-style.
      const viaHost = await send(server, { method: 'GET', path, headers: { host } });
      assert.equal(viaHost.status, 200);
      assert.deepEqual(viaHost.body, body);
      assert.deepEqual(Buffer.from(await (await fetch(objectUrl(`${grant.prefix}index.jpg`))).arrayBuffer()), body);
      // A signature made for the path-style URL does not pass for the virtual-hosted one.
      const pathStyle = await signed(grant, { method: 'PUT', host, path: `/s3/${BUCKET}${path}`, body });
      const mismatch = await send(server, { method: 'PUT', path, headers: pathStyle, body });
      assert.match(mismatch.body.toString(), /<Code>SignatureDoesNotMatch<\/Code>/);
      // Another host is not the bucket: rig still answers the root.
      const root = await send(server, { method: 'GET', path, headers: { host: 'example.org' } });
      assert.equal(root.headers['x-amz-request-id'], undefined);
      assert.doesNotMatch(root.body.toString(), /<Error>/);
    });

    test('after release the credentials keep working for the grace period, then are refused as expired', async () => {
      const { grant, streamId } = await grantFor();
      const s3 = client(server, grant);
      await core().uploads.release(streamId);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${grant.prefix}vod.bin`, Body: 'last upload after stop' }));
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const before = await server.snapshot();
      assert.deepEqual(await s3Failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${grant.prefix}late.bin`, Body: 'too late' }))), { name: 'ExpiredToken', status: 400 });
      assert.equal(await server.snapshot(), before);
      // Releasing again never lengthens the credential.
      await core().uploads.release(streamId);
      assert.equal((await s3Failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${grant.prefix}late.bin`, Body: 'too late' })))).name, 'ExpiredToken');
    });

    test('an object larger than the limit is refused before it is stored', async () => {
      const { grant } = await grantFor();
      const before = await server.snapshot();
      const failure = await s3Failure(client(server, grant).send(new PutObjectCommand({ Bucket: BUCKET, Key: `${grant.prefix}huge.bin`, Body: Buffer.alloc(7 * MiB) })));
      assert.equal(failure.name, 'EntityTooLarge');
      assert.equal(await server.snapshot(), before);
    });
  });
}

describe('virtual-hosted style rewrite', () => {
  const rewrite = virtualHostRewrite({ bucket: 'streamdelta', mount: '/s3', publicUrl: 'https://streamdelta.example.com' });
  const at = (host: string | undefined, url: string) => rewrite({ headers: host === undefined ? {} : { host }, url } as never);

  test('a Host of <bucket>.<anything> becomes the path-style URL', () => {
    assert.equal(at('streamdelta.s3.amazonaws.com', '/a/b/index0.ts?x-id=PutObject'), '/s3/streamdelta/a/b/index0.ts?x-id=PutObject');
    assert.equal(at('STREAMDELTA.s3.us-east-1.amazonaws.com:443', '/k'), '/s3/streamdelta/k');
  });

  test('the server\'s own host, other hosts and a bare bucket name are left alone', () => {
    assert.equal(at('streamdelta.example.com', '/abc'), undefined);
    assert.equal(at('example.org', '/abc'), undefined);
    assert.equal(at('streamdelta', '/abc'), undefined);
    assert.equal(at('streamdeltax.s3.amazonaws.com', '/abc'), undefined);
    assert.equal(at(undefined, '/abc'), undefined);
  });
});

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
