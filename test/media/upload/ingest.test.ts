import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { InUseError, NotFoundError, ValidationError } from '../../../src/core/kernel/errors.js';
import type { StreamId } from '../../../src/core/kernel/ids.js';
import { emit } from '../../../src/core/kernel/context.js';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { ffmpegMissing, tempDir } from '../support.js';
import { assertPublished, publish, rtmpUrl, waitFor } from '../e2e/support.js';
import { makeHlsFiles, PLAYLIST_META, SEGMENT_META, THUMB_META, uploadLive, uploadStream, type HlsFiles } from './support.js';

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

for (const kind of databaseKinds()) {
  describe(`upload ingest (${kind})`, { skip: ffmpegMissing }, () => {
    let server: TestServer;
    let files: HlsFiles;
    const dir = tempDir('ingest');

    before(async () => {
      files = makeHlsFiles(dir.path);
      assert.ok(files.segments.length >= 4, `ffmpeg made ${files.segments.length} segments`);
      server = await startTestServer(kind);
    });
    after(async () => {
      await server?.close();
      dir.remove();
    });

    const core = () => server.running.core;
    const ingest = () => server.running.uploadIngest;
    const broadcastsOf = (streamId: StreamId) => core().broadcasts.list(streamId);
    async function recordingOf(streamId: StreamId) {
      const [broadcast, ...others] = await broadcastsOf(streamId);
      assert.ok(broadcast, 'a broadcast');
      assert.equal(others.length, 0, 'one broadcast only');
      return core().broadcasts.recording(broadcast);
    }

    test('a segment uploaded before any playlist waits; the first playlist starts the broadcast and records it', async () => {
      const { streamId, scope } = await uploadStream(server);
      const [first] = files.segments;
      const { etag } = await ingest().put(scope, first!.name, first!.data, SEGMENT_META);
      assert.equal(etag, md5(first!.data));
      assert.deepEqual(await broadcastsOf(streamId), [], 'a segment alone starts nothing');
      assert.equal((await core().streams.findById(streamId))?.isLive, false);

      await ingest().put(scope, 'index.m3u8', files.snapshot(1), PLAYLIST_META);
      assert.equal((await core().streams.findById(streamId))?.isLive, true);
      const recording = await recordingOf(streamId);
      assert.equal(recording.broadcast.endedAt, null);
      assert.equal(recording.segments.length, 1);
      assert.equal(recording.segments[0]!.sequence, 0);
      assert.equal(recording.segments[0]!.duration, Math.round(first!.duration * 1000) / 1000);
      assert.equal(recording.segments[0]!.size, first!.data.length);
    });

    test('a segment uploaded after the playlist naming it is recorded when it arrives', async () => {
      const { streamId, scope } = await uploadStream(server);
      await ingest().put(scope, 'index.m3u8', files.snapshot(2), PLAYLIST_META);
      assert.equal((await recordingOf(streamId)).segments.length, 0, 'named but not uploaded: not recorded');
      await ingest().put(scope, files.segments[1]!.name, files.segments[1]!.data, SEGMENT_META);
      let recording = await recordingOf(streamId);
      assert.deepEqual(recording.segments.map((s) => s.sequence), [1]);
      assert.equal(recording.segments[0]!.duration, Math.round(files.segments[1]!.duration * 1000) / 1000);
      await ingest().put(scope, files.segments[0]!.name, files.segments[0]!.data, SEGMENT_META);
      recording = await recordingOf(streamId);
      assert.deepEqual(recording.segments.map((s) => s.sequence), [0, 1]);
    });

    test('growing snapshots record each segment once, numbered by its name', async () => {
      const { streamId, scope } = await uploadStream(server);
      const written: number[] = [];
      const unsubscribe = core().ctx.bus.subscribe((event) => {
        if (event.type === 'segment.written' && event.streamId === streamId) written.push(event.sequence);
      });
      try {
        await uploadLive(server, scope, files);
        // Re-uploading an older snapshot (a retried PUT) records nothing again.
        await ingest().put(scope, 'index.m3u8', files.snapshot(2), PLAYLIST_META);
      } finally {
        unsubscribe();
      }
      const recording = await recordingOf(streamId);
      assert.deepEqual(recording.segments.map((s) => s.sequence), files.segments.map((_, i) => i));
      assert.deepEqual(written, files.segments.map((_, i) => i));
      assert.ok(Math.abs(recording.duration - files.totalDuration) < 0.01);
      assert.equal(recording.broadcast.endedAt, null, 'still live');
    });

    test('vod.m3u8 records what is missing and ends the broadcast; a later segment still joins it', async () => {
      const { streamId, scope } = await uploadStream(server);
      const last = files.segments.length - 1;
      await uploadLive(server, scope, files, 0, last - 1);
      // The last two segments arrive around the VOD playlist, one before, one after.
      await ingest().put(scope, files.segments[last - 1]!.name, files.segments[last - 1]!.data, SEGMENT_META);
      await ingest().put(scope, 'vod.m3u8', files.vod(), PLAYLIST_META);
      let recording = await recordingOf(streamId);
      assert.notEqual(recording.broadcast.endedAt, null, 'vod.m3u8 ends the broadcast');
      assert.deepEqual(recording.segments.map((s) => s.sequence), files.segments.slice(0, last).map((_, i) => i));
      await ingest().put(scope, files.segments[last]!.name, files.segments[last]!.data, SEGMENT_META);
      recording = await recordingOf(streamId);
      assert.deepEqual(recording.segments.map((s) => s.sequence), files.segments.map((_, i) => i));
    });

    test('after stream/stop ends the broadcast, late segments and snapshots join it; no new broadcast starts', async () => {
      const { streamId, scope } = await uploadStream(server);
      await uploadLive(server, scope, files, 0, 2);
      const ended = await core().broadcasts.end(streamId);
      assert.ok(ended);
      await uploadLive(server, scope, files, 2, files.segments.length);
      await ingest().put(scope, 'vod.m3u8', files.vod(), PLAYLIST_META);
      const recording = await recordingOf(streamId);
      assert.equal(recording.broadcast.id, ended.id);
      assert.equal(recording.broadcast.endedAt, ended.endedAt, 'the end stays where stop put it');
      assert.equal(recording.segments.length, files.segments.length);
      assert.equal((await core().streams.findById(streamId))?.isLive, false);
    });

    test('discontinuities in the playlist mark the recorded segments', async () => {
      const { streamId, scope } = await uploadStream(server);
      for (const segment of files.segments) await ingest().put(scope, segment.name, segment.data, SEGMENT_META);
      await ingest().put(scope, 'vod.m3u8', files.vod({ discontinuityBefore: [2] }), PLAYLIST_META);
      const recording = await recordingOf(streamId);
      assert.deepEqual(
        recording.segments.map((s) => s.discontinuity),
        files.segments.map((_, i) => i === 2),
      );
    });

    test('concurrent uploads of one stream start one broadcast and record every segment once', async () => {
      const { streamId, scope } = await uploadStream(server);
      const puts = files.segments.flatMap((segment, i) => [
        () => ingest().put(scope, segment.name, segment.data, SEGMENT_META),
        () => ingest().put(scope, 'index.m3u8', files.snapshot(i + 1), PLAYLIST_META),
      ]);
      // Every order at once: reversed, so snapshots race ahead of the segments they name.
      await Promise.all([...puts].reverse().map((put) => put()));
      const recording = await recordingOf(streamId);
      assert.deepEqual(recording.segments.map((s) => s.sequence), files.segments.map((_, i) => i));
    });

    test('objects read back with their type, cache control and etag; only public objects of public streams', async () => {
      const { streamId, scope } = await uploadStream(server);
      await ingest().put(scope, 'thumb.jpg', files.thumb, THUMB_META);
      await ingest().put(scope, 'index.m3u8', files.snapshot(1), PLAYLIST_META);
      await ingest().put(scope, 'notes/a b.txt', Buffer.from('private note'), { publicRead: false });
      await ingest().put(scope, 'odd name (1).bin', Buffer.from('any key works'), { publicRead: true });

      const thumb = await ingest().get(`${scope.prefix}thumb.jpg`);
      assert.ok(thumb);
      assert.equal(thumb.contentType, 'image/jpeg');
      assert.equal(thumb.etag, md5(files.thumb));
      assert.equal(thumb.size, files.thumb.length);
      assert.equal(thumb.cacheControl, undefined);
      assert.ok(!Number.isNaN(Date.parse(thumb.lastModified)));
      assert.deepEqual(await readAll(thumb.stream), files.thumb);

      const playlist = await ingest().get(`${scope.prefix}index.m3u8`);
      assert.equal(playlist?.cacheControl, 'max-age=0');
      assert.equal(playlist?.etag, md5(files.snapshot(1)));
      playlist?.stream.resume();
      await ingest().put(scope, 'index.m3u8', files.snapshot(2), PLAYLIST_META);
      const newer = await ingest().get(`${scope.prefix}index.m3u8`);
      assert.equal(newer?.etag, md5(files.snapshot(2)), 'an overwrite replaces the object');
      assert.deepEqual(await readAll(newer!.stream), files.snapshot(2));

      const odd = await ingest().get(`${scope.prefix}odd name (1).bin`);
      assert.equal(odd?.contentType, 'binary/octet-stream');
      assert.deepEqual(await readAll(odd!.stream), Buffer.from('any key works'));

      assert.equal(await ingest().get(`${scope.prefix}notes/a b.txt`), undefined, 'not public-read');
      assert.equal(await ingest().get(`${scope.prefix}missing.ts`), undefined);
      assert.equal(await ingest().get(`other/${scope.prefix}thumb.jpg`), undefined);

      // Changed as the core changes a stream: the row, then the event that tells every cache.
      const changed = () => emit(server.running.core.ctx, { type: 'stream.updated', streamId });
      await server.running.store.db.updateTable('streams').set({ is_private: 1 }).where('id', '=', streamId).execute();
      await changed();
      assert.equal(await ingest().get(`${scope.prefix}thumb.jpg`), undefined, 'a private stream plays only with a viewer token');
      await server.running.store.db.updateTable('streams').set({ is_private: 0, deleted_at: new Date().toISOString() }).where('id', '=', streamId).execute();
      await changed();
      assert.equal(await ingest().get(`${scope.prefix}thumb.jpg`), undefined, 'a deleted stream');
    });

    test('a playlist that is not one, an unknown stream and a bad name are refused and change nothing', async () => {
      const { streamId, scope } = await uploadStream(server);
      const before = await server.snapshot();
      await assert.rejects(ingest().put(scope, 'index.m3u8', Buffer.from('<html>not a playlist</html>'), PLAYLIST_META), ValidationError);
      await assert.rejects(ingest().put(scope, 'vod.m3u8', Buffer.from('#EXTM3U\n#EXTINF:abc,\nindex0.ts\n'), PLAYLIST_META), ValidationError);
      await assert.rejects(ingest().put(scope, '', Buffer.from('x'), SEGMENT_META), ValidationError);
      await assert.rejects(ingest().put(scope, 'x'.repeat(1100), Buffer.from('x'), SEGMENT_META), ValidationError);
      const ghost = { streamId: '00000000-0000-4000-8000-000000000000' as StreamId, prefix: 'app/ghost/none/' };
      await assert.rejects(ingest().put(ghost, 'index0.ts', files.segments[0]!.data, SEGMENT_META), NotFoundError);
      assert.equal(await server.snapshot(), before);
      assert.deepEqual(await broadcastsOf(streamId), []);
    });

    test('while an RTMP publisher holds the stream, a playlist upload is refused and stores nothing', async () => {
      const { streamId, key, scope } = await uploadStream(server);
      const publisher = publish(rtmpUrl(server, key), 4);
      await waitFor('the RTMP broadcast', async () => (await core().streams.findById(streamId))?.isLive === true);
      const countObjects = async () => (await server.running.store.db.selectFrom('upload_objects').select('bucket_key').where('stream_id', '=', streamId).execute()).length;
      await assert.rejects(ingest().put(scope, 'index.m3u8', files.snapshot(1), PLAYLIST_META), InUseError);
      assert.equal(await countObjects(), 0);
      assert.equal(await server.running.store.uploadBroadcasts.findByStream(streamId), undefined);
      await assertPublished('rtmp publisher', publisher);
      const broadcasts = await broadcastsOf(streamId);
      assert.equal(broadcasts.length, 1, 'only the RTMP broadcast');
    });
  });
}
