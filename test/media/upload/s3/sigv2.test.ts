/**
 * SigV2 as S3 checks it (the scheme the Kickflip Android SDK's aws-android-sdk-s3 2.2.x uses in
 * us-east-1): against the example requests, strings to sign and signatures published in AWS's
 * S3 documentation, against a second, step-by-step computation with node:crypto, and end to end
 * over HTTP against a running server (header and query auth, virtual-hosted and path style).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { StreamId } from '../../../../src/core/kernel/ids.js';
import type { UploadGrant } from '../../../../src/core/uploads/credentials.js';
import { authenticate, decodeBody, type IncomingS3Request } from '../../../../src/media/upload/s3/auth.js';
import { canonicalizedAmzHeaders, canonicalizedResource, parseAuthorizationV2, parseHttpDate, signatureV2, stringToSignV2 } from '../../../../src/media/upload/s3/sigv2.js';
import { databaseKinds } from '../../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../../helpers/server.js';
import { S3Error } from '../../../../src/media/upload/s3/errors.js';
import { ACCESS_KEY, authOptions, exampleCredential, rawHeaders, rejects, SECRET } from './aws-example.js';

const BUCKET = 'streamdelta';

/** HMAC-SHA1 then base64, spelled out here: no code shared with the server. */
function independentSignature(secret: string, toSign: string): string {
  return createHmac('sha1', Buffer.from(secret, 'utf8')).update(Buffer.from(toSign, 'utf8')).digest('base64');
}

describe('SigV2: the AWS documentation examples', () => {
  // The published signatures were computed for the bucket "johnsmith" (later pages renamed the
  // bucket in the text but kept these signatures).
  interface Example {
    what: string;
    method: string;
    path: string;
    bucketInHost?: string;
    query?: [string, string][];
    headers: Record<string, string>;
    date: string;
    stringToSign: string;
    signature: string;
  }
  const examples: Example[] = [
    {
      what: 'Object GET (virtual-hosted)',
      method: 'GET',
      path: '/photos/puppy.jpg',
      bucketInHost: 'johnsmith',
      headers: {},
      date: 'Tue, 27 Mar 2007 19:36:42 +0000',
      stringToSign: 'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg',
      signature: 'bWq2s1WEIj+Ydj0vQ697zp+IXMU=',
    },
    {
      what: 'Object PUT',
      method: 'PUT',
      path: '/photos/puppy.jpg',
      bucketInHost: 'johnsmith',
      headers: { 'Content-Type': 'image/jpeg', 'Content-Length': '94328' },
      date: 'Tue, 27 Mar 2007 21:15:45 +0000',
      stringToSign: 'PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg',
      signature: 'MyyxeRY7whkBe+bq8fHCL/2kKUg=',
    },
    {
      what: 'List (query parameters that are not sub-resources are not signed)',
      method: 'GET',
      path: '/',
      bucketInHost: 'johnsmith',
      query: [['prefix', 'photos'], ['max-keys', '50'], ['marker', 'puppy']],
      headers: { 'User-Agent': 'Mozilla/5.0' },
      date: 'Tue, 27 Mar 2007 19:42:41 +0000',
      stringToSign: 'GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/',
      signature: 'htDYFYduRNen8P9ZfE/s9SuKy0U=',
    },
    {
      what: 'Fetch ?acl (a sub-resource is signed)',
      method: 'GET',
      path: '/',
      bucketInHost: 'johnsmith',
      query: [['acl', '']],
      headers: {},
      date: 'Tue, 27 Mar 2007 19:44:46 +0000',
      stringToSign: 'GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl',
      signature: 'c2WLPFtWHVgbEmeEG93a4cG37dM=',
    },
    {
      what: 'Upload with metadata to a CNAME bucket (x-amz-* sorted, lower-cased, joined)',
      method: 'PUT',
      path: '/db-backup.dat.gz',
      bucketInHost: 'static.johnsmith.net',
      headers: {
        'x-amz-acl': 'public-read',
        'content-type': 'application/x-download',
        'Content-MD5': '4gJE4saaMU4BqNR0kLY+lw==',
        'X-Amz-Meta-ReviewedBy': 'joe@johnsmith.net',
        'X-Amz-Meta-ReviewedBy ': 'jane@johnsmith.net',
        'X-Amz-Meta-FileChecksum': '0x02661779',
        'X-Amz-Meta-ChecksumAlgorithm': 'crc32',
        'Content-Disposition': 'attachment; filename=database.dat',
        'Content-Encoding': 'gzip',
        'Content-Length': '5913339',
      },
      date: 'Tue, 27 Mar 2007 21:06:08 +0000',
      stringToSign:
        'PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n' +
        'x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n' +
        'x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz',
      signature: 'ilyl83RwaSoYIEdixDQcA4OnAnc=',
    },
    {
      what: 'List all my buckets',
      method: 'GET',
      path: '/',
      headers: {},
      date: 'Wed, 28 Mar 2007 01:29:59 +0000',
      stringToSign: 'GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/',
      signature: 'qGdzdERIC03wnaRNKh6OqZehG9s=',
    },
    {
      what: 'Unicode keys (the path is signed exactly as sent, encoding and case kept)',
      method: 'GET',
      path: '/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re',
      headers: {},
      date: 'Wed, 28 Mar 2007 01:49:49 +0000',
      stringToSign: 'GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re',
      signature: 'DNEZGsoieTZ92F3bUfSPQcbGmlM=',
    },
  ];

  for (const example of examples) {
    test(example.what, () => {
      // The doc's example sends one header twice; a record key cannot repeat, so one carries a trailing space.
      const headers = rawHeaders(example.headers).map((v, i) => (i % 2 === 0 ? v.trim() : v));
      const header = (name: string) => Object.entries(example.headers).find(([k]) => k.toLowerCase() === name)?.[1] ?? '';
      const text = stringToSignV2({
        method: example.method,
        contentMd5: header('content-md5'),
        contentType: header('content-type'),
        date: example.date,
        amzHeaders: canonicalizedAmzHeaders(headers),
        resource: canonicalizedResource(example.path, example.bucketInHost, example.query ?? []),
      });
      assert.equal(text, example.stringToSign);
      assert.equal(signatureV2(SECRET, text), example.signature);
      assert.equal(independentSignature(SECRET, example.stringToSign), example.signature);
    });
  }

  test('Delete, path style, with x-amz-date: accepted as the documentation signs it', async () => {
    const now = Date.UTC(2007, 2, 27, 21, 20, 30);
    const request: IncomingS3Request = {
      method: 'DELETE',
      path: '/johnsmith/photos/puppy.jpg',
      query: '',
      rawHeaders: rawHeaders({
        'User-Agent': 'dotnet',
        Host: 's3.amazonaws.com',
        Date: 'Tue, 27 Mar 2007 21:20:27 +0000',
        'x-amz-date': 'Tue, 27 Mar 2007 21:20:26 +0000',
        'x-amz-security-token': 'the-token',
        Authorization: `AWS ${ACCESS_KEY}:lx3byBScXR6KzyMaifNkardMwNk=`,
      }),
    };
    // The doc's string to sign leaves the token out, so that request is signed again with it:
    // the rule the SDKs follow (empty Date, x-amz-date among the x-amz headers)…
    const sdkStyle = 'DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\nx-amz-security-token:the-token\n/johnsmith/photos/puppy.jpg';
    const withSdk = { ...request, rawHeaders: request.rawHeaders.map((v) => (v.startsWith('AWS ') ? `AWS ${ACCESS_KEY}:${independentSignature(SECRET, sdkStyle)}` : v)) };
    assert.ok(await authenticate(withSdk, authOptions(now)));
    // …and the documentation's own (x-amz-date in the Date position, no x-amz-date line).
    const docStyle = 'DELETE\n\n\nTue, 27 Mar 2007 21:20:26 +0000\nx-amz-security-token:the-token\n/johnsmith/photos/puppy.jpg';
    const withDoc = { ...request, rawHeaders: request.rawHeaders.map((v) => (v.startsWith('AWS ') ? `AWS ${ACCESS_KEY}:${independentSignature(SECRET, docStyle)}` : v)) };
    assert.ok(await authenticate(withDoc, authOptions(now)));
    // The doc's request as it stands (no token) is refused: session credentials need their token.
    await rejects(authenticate({ ...request, rawHeaders: request.rawHeaders.slice(0, 8).concat(request.rawHeaders.slice(10)) }, authOptions(now)), 'InvalidToken');
    assert.equal(independentSignature(SECRET, 'DELETE\n\n\nTue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg'), 'lx3byBScXR6KzyMaifNkardMwNk=');
  });

  test('query string authentication: Expires in the Date position', async () => {
    const stringToSign = 'GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg';
    assert.equal(
      stringToSignV2({ method: 'GET', contentMd5: '', contentType: '', date: '1175139620', amzHeaders: '', resource: canonicalizedResource('/photos/puppy.jpg', 'johnsmith', []) }),
      stringToSign,
    );
    assert.equal(independentSignature(SECRET, stringToSign), 'NpgCjnDzrM+WFzoENXmpNDUsSn8=');
    // The same URL with a session token parameter (signed as an x-amz header) is accepted until it expires.
    const withToken = 'GET\n\n\n1175139620\nx-amz-security-token:the-token\n/johnsmith/photos/puppy.jpg';
    const query = `AWSAccessKeyId=${ACCESS_KEY}&Expires=1175139620&Signature=${encodeURIComponent(independentSignature(SECRET, withToken))}&x-amz-security-token=the-token`;
    const request: IncomingS3Request = { method: 'GET', path: '/photos/puppy.jpg', query, rawHeaders: rawHeaders({ Host: 'johnsmith.s3.amazonaws.com' }), virtualHostBucket: 'johnsmith' };
    assert.ok(await authenticate(request, authOptions(1175139620 * 1000 - 60_000)));
    await rejects(authenticate(request, authOptions(1175139620 * 1000 + 1000)), 'AccessDenied');
  });
});

describe('SigV2 building blocks and refusals', () => {
  const NOW = Date.UTC(2015, 6, 1, 12, 0, 0);
  const DATE = 'Wed, 01 Jul 2015 12:00:00 GMT';

  test('the Authorization header and dates are parsed strictly', () => {
    assert.deepEqual(parseAuthorizationV2(`AWS ${ACCESS_KEY}:abc+/=`), { accessKeyId: ACCESS_KEY, signature: 'abc+/=' });
    for (const bad of ['AWS', `AWS ${ACCESS_KEY}`, `AWS ${ACCESS_KEY}:`, `AWS4-HMAC-SHA256 Credential=x`, `aws ${ACCESS_KEY}:x`]) assert.equal(parseAuthorizationV2(bad), undefined, bad);
    assert.equal(parseHttpDate(DATE), NOW);
    assert.equal(parseHttpDate('Wed, 01 Jul 2015 12:00:00 +0000'), NOW);
    assert.equal(parseHttpDate('20150701T120000Z'), NOW);
    for (const bad of ['', 'yesterday', '2015-07-01', 'Wed, 01 Jul 2015 12:00:00']) assert.equal(parseHttpDate(bad), undefined, bad);
  });

  test('multipart sub-resources are signed sorted, with values; other parameters are not', () => {
    assert.equal(canonicalizedResource('/k', 'b', [['uploadId', 'abc'], ['partNumber', '2'], ['x-id', 'PutObject']]), '/b/k?partNumber=2&uploadId=abc');
    assert.equal(canonicalizedResource('/s3/b/k', undefined, [['uploads', '']]), '/s3/b/k?uploads');
  });

  /** A PUT as the Android SDK sends it: Content-Type, x-amz-acl, the session token, Date. */
  function androidPut(overrides: { secret?: string; token?: string; date?: string; body?: Buffer; md5?: string; contentSha256?: string } = {}): { request: IncomingS3Request; body: Buffer } {
    const body = overrides.body ?? Buffer.from('a segment');
    const md5 = overrides.md5 ?? createHash('md5').update(body).digest('base64');
    const date = overrides.date ?? DATE;
    const token = overrides.token ?? 'the-token';
    const sha = overrides.contentSha256 !== undefined ? `x-amz-content-sha256:${overrides.contentSha256}\n` : '';
    const toSign = `PUT\n${md5}\nvideo/mp2t\n${date}\nx-amz-acl:public-read\n${sha}x-amz-security-token:${token}\n/${BUCKET}/app/u/s/index0.ts`;
    const sig = independentSignature(overrides.secret ?? SECRET, toSign);
    return {
      body,
      request: {
        method: 'PUT',
        path: '/app/u/s/index0.ts',
        query: '',
        virtualHostBucket: BUCKET,
        rawHeaders: rawHeaders({
          Host: `${BUCKET}.s3.amazonaws.com`,
          'Content-Type': 'video/mp2t',
          'Content-MD5': md5,
          'x-amz-acl': 'public-read',
          'x-amz-security-token': token,
          Date: date,
          ...(overrides.contentSha256 !== undefined ? { 'x-amz-content-sha256': overrides.contentSha256 } : {}),
          Authorization: `AWS ${ACCESS_KEY}:${sig}`,
        }),
      },
    };
  }

  test('a request signed step by step is accepted, and its body is checked against Content-MD5', async () => {
    const { request, body } = androidPut();
    const auth = await authenticate(request, authOptions(NOW));
    assert.ok(auth);
    assert.equal(auth.payloadHash, 'UNSIGNED-PAYLOAD');
    assert.equal(auth.chunkSigning, undefined);
    assert.deepEqual(decodeBody(auth, body, request.rawHeaders), body);
    assert.throws(() => decodeBody(auth, Buffer.from('another body'), request.rawHeaders), (e: unknown) => e instanceof S3Error && e.code === 'BadDigest');
  });

  test('every signed part counts: path, bucket, method, type, MD5, x-amz headers, date', async () => {
    const { request } = androidPut();
    const change = (name: string, value: string) => ({ ...request, rawHeaders: request.rawHeaders.map((v, i) => (i % 2 === 1 && request.rawHeaders[i - 1] === name ? value : v)) });
    await rejects(authenticate({ ...request, path: '/app/u/s/index1.ts' }, authOptions(NOW)), 'SignatureDoesNotMatch');
    await rejects(authenticate({ ...request, virtualHostBucket: 'other' }, authOptions(NOW)), 'SignatureDoesNotMatch');
    await rejects(authenticate({ ...request, virtualHostBucket: undefined }, authOptions(NOW)), 'SignatureDoesNotMatch');
    await rejects(authenticate({ ...request, method: 'POST' }, authOptions(NOW)), 'SignatureDoesNotMatch');
    await rejects(authenticate(change('Content-Type', 'image/jpeg'), authOptions(NOW)), 'SignatureDoesNotMatch');
    await rejects(authenticate(change('Content-MD5', createHash('md5').update('x').digest('base64')), authOptions(NOW)), 'SignatureDoesNotMatch');
    await rejects(authenticate(change('x-amz-acl', 'private'), authOptions(NOW)), 'SignatureDoesNotMatch');
    await rejects(authenticate(change('Date', 'Wed, 01 Jul 2015 12:00:01 GMT'), authOptions(NOW)), 'SignatureDoesNotMatch');
    await rejects(authenticate({ ...request, rawHeaders: [...request.rawHeaders, 'x-amz-meta-extra', '1'] }, authOptions(NOW)), 'SignatureDoesNotMatch');
  });

  test('forged secret, wrong or missing token, unknown key, expired credential, skewed or missing date', async () => {
    await rejects(authenticate(androidPut({ secret: `${SECRET.slice(0, -1)}Z` }).request, authOptions(NOW)), 'SignatureDoesNotMatch');
    await rejects(authenticate(androidPut({ token: 'another-token' }).request, authOptions(NOW)), 'InvalidToken');
    const { request } = androidPut();
    const without = (name: string) => ({ ...request, rawHeaders: request.rawHeaders.filter((_, i) => request.rawHeaders[i - (i % 2)] !== name) });
    await rejects(authenticate(without('x-amz-security-token'), authOptions(NOW)), 'InvalidToken');
    await rejects(authenticate(without('Date'), authOptions(NOW)), 'AccessDenied');
    await rejects(authenticate(request, authOptions(NOW, exampleCredential({ accessKeyId: 'ASIAOTHER' }))), 'InvalidAccessKeyId');
    await rejects(authenticate(request, authOptions(NOW, exampleCredential({ expiresAt: '2015-07-01T11:00:00.000Z' }))), 'ExpiredToken');
    await rejects(authenticate(request, authOptions(NOW + 16 * 60_000)), 'RequestTimeTooSkewed');
    await rejects(authenticate(request, authOptions(NOW - 16 * 60_000)), 'RequestTimeTooSkewed');
    assert.ok(await authenticate(request, authOptions(NOW + 14 * 60_000)));
    // Two mechanisms at once, a malformed header, an incomplete presigned query, aws-chunked.
    await rejects(authenticate({ ...request, query: `AWSAccessKeyId=${ACCESS_KEY}&Expires=1&Signature=x` }, authOptions(NOW)), 'InvalidArgument');
    await rejects(authenticate({ ...request, rawHeaders: request.rawHeaders.map((v) => (v.startsWith('AWS ') ? 'AWS nocolon' : v)) }, authOptions(NOW)), 'InvalidArgument');
    await rejects(authenticate({ method: 'GET', path: '/k', query: `AWSAccessKeyId=${ACCESS_KEY}&Signature=x`, rawHeaders: [] }, authOptions(NOW)), 'AccessDenied');
    await rejects(authenticate({ method: 'GET', path: '/k', query: `AWSAccessKeyId=${ACCESS_KEY}&Signature=x&Expires=soon`, rawHeaders: [] }, authOptions(NOW)), 'AccessDenied');
    await rejects(authenticate(androidPut({ contentSha256: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' }).request, authOptions(NOW)), 'InvalidRequest');
    // A signed x-amz-content-sha256 digest is checked against the body too.
    const hashed = androidPut({ contentSha256: createHash('sha256').update('a segment').digest('hex') });
    const auth = await authenticate(hashed.request, authOptions(NOW));
    assert.ok(auth);
    assert.deepEqual(decodeBody(auth, hashed.body, hashed.request.rawHeaders), hashed.body);
  });
});

/** A raw HTTP request (any Host header), answering status, headers and body. */
function send(server: TestServer, options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer }): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: options.method, path: options.path, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function code(body: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
}

let counter = 0;

for (const kind of databaseKinds()) {
  describe(`SigV2 uploads over HTTP (${kind})`, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(kind, { uploadGrace: '1' });
    });
    after(async () => {
      await server?.close();
    });

    async function grantFor(): Promise<{ grant: UploadGrant; streamId: StreamId }> {
      const core = server.running.core;
      const account = await core.accounts.create({ username: `v2user${process.pid}x${++counter}`, password: 'correct horse battery' });
      const stream = await core.streams.create(account.id);
      return { grant: await core.uploads.grant(stream.id, `kickflip/${account.username}/${stream.id}/`), streamId: stream.id };
    }

    /**
     * Headers of a SigV2 header-auth request, as the Android SDK's S3Signer builds them: the
     * resource is '/<bucket>/<key>' for the virtual-hosted host, the request path for path style.
     */
    function signV2(grant: Pick<UploadGrant, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>, o: { method: string; resource: string; body?: Buffer; contentType?: string; extra?: Record<string, string>; date?: Date }): Record<string, string> {
      const date = (o.date ?? new Date()).toUTCString();
      const md5 = o.body ? createHash('md5').update(o.body).digest('base64') : '';
      // As the Android SDK does, a body always goes with a Content-Type (signed).
      const contentType = o.contentType ?? (o.body ? 'application/octet-stream' : undefined);
      const amz: Record<string, string> = { 'x-amz-security-token': grant.sessionToken, ...o.extra };
      const amzLines = Object.keys(amz)
        .sort()
        .map((k) => `${k}:${amz[k]}\n`)
        .join('');
      const toSign = `${o.method}\n${md5}\n${contentType ?? ''}\n${date}\n${amzLines}${o.resource}`;
      return {
        Date: date,
        ...(md5 ? { 'Content-MD5': md5 } : {}),
        ...(contentType ? { 'Content-Type': contentType } : {}),
        ...amz,
        Authorization: `AWS ${grant.accessKeyId}:${independentSignature(grant.secretAccessKey, toSign)}`,
      };
    }

    const objectUrl = (key: string) => `${server.url}/s3/${BUCKET}/${key}`;

    test('header auth, virtual-hosted as the Android SDK sends it: the segment is stored and readable', async () => {
      const { grant } = await grantFor();
      const key = `${grant.prefix}index0.ts`;
      const body = Buffer.from('segment zero, uploaded with SigV2');
      const headers = signV2(grant, { method: 'PUT', resource: `/${BUCKET}/${key}`, body, contentType: 'video/mp2t', extra: { 'x-amz-acl': 'public-read' } });
      const put = await send(server, { method: 'PUT', path: `/${key}`, headers: { ...headers, Host: `${BUCKET}.s3.amazonaws.com` }, body });
      assert.equal(put.status, 200, put.body);
      const read = await fetch(objectUrl(key));
      assert.equal(read.status, 200);
      assert.equal(read.headers.get('content-type'), 'video/mp2t');
      assert.deepEqual(Buffer.from(await read.arrayBuffer()), body);
    });

    test('header auth, path style: the resource is the path as sent', async () => {
      const { grant } = await grantFor();
      const key = `${grant.prefix}thumb.jpg`;
      const body = Buffer.from('a thumbnail');
      const headers = signV2(grant, { method: 'PUT', resource: `/s3/${BUCKET}/${key}`, body, contentType: 'image/jpeg', extra: { 'x-amz-acl': 'public-read' } });
      const put = await send(server, { method: 'PUT', path: `/s3/${BUCKET}/${key}`, headers, body });
      assert.equal(put.status, 200, put.body);
      assert.deepEqual(Buffer.from(await (await fetch(objectUrl(key))).arrayBuffer()), body);
    });

    test('query auth (a V2 presigned PUT with the session token parameter)', async () => {
      const { grant } = await grantFor();
      const key = `${grant.prefix}poster.jpg`;
      const body = Buffer.from('a poster image');
      const expires = String(Math.floor(Date.now() / 1000) + 300);
      const toSign = `PUT\n\nimage/jpeg\n${expires}\nx-amz-acl:public-read\nx-amz-security-token:${grant.sessionToken}\n/s3/${BUCKET}/${key}`;
      const query = `AWSAccessKeyId=${grant.accessKeyId}&Expires=${expires}&Signature=${encodeURIComponent(independentSignature(grant.secretAccessKey, toSign))}&x-amz-security-token=${encodeURIComponent(grant.sessionToken)}`;
      const put = await send(server, { method: 'PUT', path: `/s3/${BUCKET}/${key}?${query}`, headers: { 'Content-Type': 'image/jpeg', 'x-amz-acl': 'public-read' }, body });
      assert.equal(put.status, 200, put.body);
      assert.deepEqual(Buffer.from(await (await fetch(objectUrl(key))).arrayBuffer()), body);
    });

    test('multipart upload signed with SigV2 (uploads, partNumber and uploadId are signed)', async () => {
      const { grant } = await grantFor();
      const key = `${grant.prefix}big.ts`;
      const path = `/s3/${BUCKET}/${key}`;
      const init = await send(server, { method: 'POST', path: `${path}?uploads`, headers: signV2(grant, { method: 'POST', resource: `${path}?uploads`, extra: { 'x-amz-acl': 'public-read' } }) });
      assert.equal(init.status, 200, init.body);
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.body)![1]!;
      const part = Buffer.from('the only part');
      const sub = `partNumber=1&uploadId=${uploadId}`;
      const put = await send(server, { method: 'PUT', path: `${path}?${sub}`, headers: signV2(grant, { method: 'PUT', resource: `${path}?${sub}`, body: part }), body: part });
      assert.equal(put.status, 200, put.body);
      const etag = createHash('md5').update(part).digest('hex');
      const xml = Buffer.from(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"${etag}"</ETag></Part></CompleteMultipartUpload>`);
      const done = await send(server, { method: 'POST', path: `${path}?uploadId=${uploadId}`, headers: signV2(grant, { method: 'POST', resource: `${path}?uploadId=${uploadId}`, body: xml, contentType: 'application/xml' }), body: xml });
      assert.equal(done.status, 200, done.body);
      assert.deepEqual(Buffer.from(await (await fetch(objectUrl(key))).arrayBuffer()), part);
    });

    test('forged signature, wrong token, expired, skewed, bad MD5 and out-of-prefix writes are refused and change nothing', async () => {
      const { grant } = await grantFor();
      const other = await grantFor();
      const key = `${grant.prefix}index1.ts`;
      const body = Buffer.from('should never be stored');
      const put = (headers: Record<string, string>, path = `/s3/${BUCKET}/${key}`, data = body) => send(server, { method: 'PUT', path, headers, body: data });
      const resource = `/s3/${BUCKET}/${key}`;
      const before = await server.snapshot();

      const forged = await put(signV2({ ...grant, secretAccessKey: `${grant.secretAccessKey.slice(0, -1)}${grant.secretAccessKey.endsWith('A') ? 'B' : 'A'}` }, { method: 'PUT', resource, body }));
      assert.deepEqual([forged.status, code(forged.body)], [403, 'SignatureDoesNotMatch']);
      const wrongToken = await put(signV2({ ...grant, sessionToken: `${grant.sessionToken}x` }, { method: 'PUT', resource, body }));
      assert.deepEqual([wrongToken.status, code(wrongToken.body)], [400, 'InvalidToken']);
      const skewed = await put(signV2(grant, { method: 'PUT', resource, body, date: new Date(Date.now() - 20 * 60_000) }));
      assert.deepEqual([skewed.status, code(skewed.body)], [403, 'RequestTimeTooSkewed']);
      const expiredUrl = `AWSAccessKeyId=${grant.accessKeyId}&Expires=${Math.floor(Date.now() / 1000) - 10}&Signature=x&x-amz-security-token=${encodeURIComponent(grant.sessionToken)}`;
      const expired = await put({}, `${resource}?${expiredUrl}`);
      assert.deepEqual([expired.status, code(expired.body)], [403, 'AccessDenied']);
      assert.match(expired.body, /Request has expired/);
      const badMd5 = signV2(grant, { method: 'PUT', resource, body: Buffer.from('other bytes') });
      const digest = await put(badMd5);
      assert.deepEqual([digest.status, code(digest.body)], [400, 'BadDigest']);
      for (const outside of [`${other.grant.prefix}index0.ts`, 'kickflip/elsewhere.ts', grant.prefix]) {
        const path = `/s3/${BUCKET}/${outside}`;
        const refused = await put(signV2(grant, { method: 'PUT', resource: path, body }), path);
        assert.deepEqual([refused.status, code(refused.body)], [403, 'AccessDenied'], outside);
      }
      const otherBucket = `/s3/another-bucket/${key}`;
      const noBucket = await put(signV2(grant, { method: 'PUT', resource: otherBucket, body }), otherBucket);
      assert.deepEqual([noBucket.status, code(noBucket.body)], [404, 'NoSuchBucket']);
      assert.equal(await server.snapshot(), before);
      assert.equal((await fetch(objectUrl(key))).status, 404);
    });

    test('after release and the grace period the credential is refused as expired', async () => {
      const { grant, streamId } = await grantFor();
      await server.running.core.uploads.release(streamId);
      const key = `${grant.prefix}late.ts`;
      const body = Buffer.from('too late');
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const before = await server.snapshot();
      const late = await send(server, { method: 'PUT', path: `/s3/${BUCKET}/${key}`, headers: signV2(grant, { method: 'PUT', resource: `/s3/${BUCKET}/${key}`, body }), body });
      assert.deepEqual([late.status, code(late.body)], [400, 'ExpiredToken']);
      assert.equal(await server.snapshot(), before);
    });
  });
}
