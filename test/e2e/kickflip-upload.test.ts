/**
 * The whole Kickflip flow a phone runs, with the official AWS SDK for JavaScript as the uploader:
 * OAuth2 token, user/new, stream/start, S3 uploads of ffmpeg-made HLS files with the returned
 * temporary credentials, live playback, stream/stop, a late segment, the recording played at the same
 * stream_url, the thumbnail, and the refusals (a write outside the prefix, a forged signature).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { databaseKinds } from '../helpers/databases.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegMissing, tempDir } from '../media/support.js';
import { run } from '../media/e2e/support.js';
import { makeHlsFiles, type HlsFiles } from '../media/upload/support.js';
import { accessToken, call, newClient } from '../api/kickflip/support.js';

/** The test server's public URL names port 0 (it listens on an ephemeral one): the same path on the real address. */
function reachable(server: TestServer, url: string): string {
  const parsed = new URL(url);
  return `${server.url}${parsed.pathname}${parsed.search}`;
}

async function probe(url: string): Promise<{ duration: number; codecs: string[] }> {
  const result = await run('ffprobe', ['-v', 'error', '-of', 'json', '-show_format', '-show_streams', url]);
  assert.equal(result.code, 0, `ffprobe ${url}: ${result.stderr}`);
  const json = JSON.parse(result.stdout);
  return { duration: Number(json.format.duration), codecs: json.streams.map((s: { codec_name: string }) => s.codec_name).sort() };
}

async function refusal(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof S3ServiceException, `an S3 error, got ${String(err)}`);
    return err;
  }
  assert.fail('the upload was accepted');
}

for (const kind of databaseKinds()) {
  describe(`Kickflip upload flow with @aws-sdk/client-s3 (${kind})`, { skip: ffmpegMissing }, () => {
    let server: TestServer;
    let files: HlsFiles;
    const dir = tempDir('kickflip-e2e');

    before(async () => {
      files = makeHlsFiles(dir.path, 5);
      server = await startTestServer(kind);
    });
    after(async () => {
      await server?.close();
      dir.remove();
    });

    test('start, upload, play live, stop, late segment, play the recording, thumbnail; refusals', async () => {
      const token = await accessToken(server, await newClient(server, 'Upload App'));
      const user = await call(server, token, 'user/new');
      assert.equal(user.json.success, true, user.text);
      const uuid = user.json.uuid as string;

      const started = await call(server, token, 'stream/start', { uuid });
      assert.equal(started.json.success, true, started.text);
      const stream = started.json;
      const streamId = stream.stream_id as string;
      assert.ok(stream.upload_url.endsWith(`/s3/${stream.bucket_name}/${stream.aws_prefix}`), stream.upload_url);

      const s3 = new S3Client({
        endpoint: reachable(server, `${new URL(stream.upload_url).origin}/s3`),
        forcePathStyle: true,
        region: stream.aws_region,
        credentials: { accessKeyId: stream.aws_access_key, secretAccessKey: stream.aws_secret_key, sessionToken: stream.aws_session_token },
      });
      const put = (name: string, body: Buffer, contentType: string, cacheControl?: string) =>
        s3.send(
          new PutObjectCommand({
            Bucket: stream.bucket_name,
            Key: `${stream.aws_prefix}${name}`,
            Body: body,
            ContentType: contentType,
            ACL: 'public-read',
            ...(cacheControl ? { CacheControl: cacheControl } : {}),
          }),
        );
      const uploadSegment = async (i: number) => {
        const segment = files.segments[i]!;
        await put(segment.name, segment.data, 'video/MP2T');
        await put('index.m3u8', files.snapshot(i + 1), 'application/x-mpegURL', 'max-age=0');
      };

      try {
        const n = files.segments.length;
        await uploadSegment(0);
        await put('thumb.jpg', files.thumb, 'image/jpeg');
        for (let i = 1; i < n - 1; i++) await uploadSegment(i);

        let info = await call(server, token, 'stream/info', { uuid, stream_id: streamId });
        assert.equal(info.json.success, true, info.text);
        assert.equal(info.json.is_live, true, info.text);
        // The URL stream/start handed out (an app saves it): the broadcast, live.
        assert.equal(info.json.stream_url, stream.stream_url);
        const live = await probe(reachable(server, info.json.stream_url));
        assert.deepEqual(live.codecs, ['aac', 'h264']);

        const watch = await fetch(reachable(server, info.json.kickflip_url));
        assert.equal(watch.status, 200);
        assert.match(await watch.text(), /class="state live"/);

        const stopped = await call(server, token, 'stream/stop', { uuid, stream_id: streamId });
        assert.equal(stopped.json.success, true, stopped.text);
        // Android stops first, then finishes uploading: the last segment, its snapshot, vod.m3u8.
        await uploadSegment(n - 1);
        await put('vod.m3u8', files.vod(), 'application/x-mpegURL');

        info = await call(server, token, 'stream/info', { uuid, stream_id: streamId });
        assert.equal(info.json.is_live, false, info.text);
        // The same URL now plays the whole recording, the late segment included.
        assert.equal(info.json.stream_url, stream.stream_url);
        const recorded = await probe(reachable(server, info.json.stream_url));
        assert.deepEqual(recorded.codecs, ['aac', 'h264']);
        assert.ok(Math.abs(recorded.duration - files.totalDuration) < 0.5, `VOD lasts ${recorded.duration} s, uploaded ${files.totalDuration} s`);
        const broadcasts = await server.running.core.broadcasts.list(streamId as never);
        assert.equal(broadcasts.length, 1);
        assert.equal((await server.running.core.broadcasts.recording(broadcasts[0]!)).segments.length, n, 'the late segment joined the recording');

        const thumb = await fetch(reachable(server, info.json.thumbnail_url));
        assert.equal(thumb.status, 200);
        assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
        assert.deepEqual(Buffer.from(await thumb.arrayBuffer()), files.thumb);

        // Outside the prefix: another stream's folder of the same bucket.
        const before = await server.snapshot();
        const outside = await refusal(
          s3.send(new PutObjectCommand({ Bucket: stream.bucket_name, Key: `${stream.aws_prefix.replace(streamId, '00000000-0000-4000-8000-000000000000')}index0.ts`, Body: files.segments[0]!.data })),
        );
        assert.equal(outside.$metadata.httpStatusCode, 403);
        assert.equal(outside.name, 'AccessDenied');

        // A signature made with a secret that is not the one handed out.
        const forger = new S3Client({
          endpoint: reachable(server, `${new URL(stream.upload_url).origin}/s3`),
          forcePathStyle: true,
          region: stream.aws_region,
          credentials: { accessKeyId: stream.aws_access_key, secretAccessKey: `${stream.aws_secret_key.slice(0, -2)}xx`, sessionToken: stream.aws_session_token },
        });
        try {
          const forged = await refusal(forger.send(new PutObjectCommand({ Bucket: stream.bucket_name, Key: `${stream.aws_prefix}index0.ts`, Body: Buffer.from('forged') })));
          assert.equal(forged.$metadata.httpStatusCode, 403);
          assert.equal(forged.name, 'SignatureDoesNotMatch');
        } finally {
          forger.destroy();
        }
        assert.equal(await server.snapshot(), before, 'refused uploads change nothing');
        const segment = await fetch(`${server.url}/s3/${stream.bucket_name}/${stream.aws_prefix}index0.ts`);
        assert.deepEqual(Buffer.from(await segment.arrayBuffer()), files.segments[0]!.data, 'the forged write did not replace the segment');
      } finally {
        s3.destroy();
      }
    });
  });
}
