import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { ffmpegMissing, tempDir } from '../../media/support.js';
import { getText, run } from '../../media/e2e/support.js';
import { makeHlsFiles, PLAYLIST_META, SEGMENT_META, uploadLive, uploadStream, type HlsFiles } from '../../media/upload/support.js';

const WINDOW = 3;

/** ffprobe (asynchronously: the server runs in this process) of a URL: format duration and stream codecs. */
async function probe(url: string): Promise<{ duration: number; codecs: string[] }> {
  const result = await run('ffprobe', ['-v', 'error', '-of', 'json', '-show_format', '-show_streams', url]);
  assert.equal(result.code, 0, `ffprobe ${url}: ${result.stderr}`);
  const json = JSON.parse(result.stdout);
  return { duration: Number(json.format.duration), codecs: json.streams.map((s: { codec_name: string }) => s.codec_name).sort() };
}

function mediaLines(playlist: string): { tags: Map<string, string>; uris: string[]; extinf: number[] } {
  const tags = new Map<string, string>();
  const uris: string[] = [];
  const extinf: number[] = [];
  for (const line of playlist.split('\n')) {
    if (line.startsWith('#EXTINF:')) extinf.push(Number(line.slice(8).split(',')[0]));
    else if (line.startsWith('#')) {
      const colon = line.indexOf(':');
      tags.set(colon < 0 ? line : line.slice(0, colon), colon < 0 ? '' : line.slice(colon + 1));
    } else if (line !== '') uris.push(line);
  }
  return { tags, uris, extinf };
}

for (const kind of databaseKinds()) {
  describe(`HLS playback of an upload-fed broadcast (${kind})`, { skip: ffmpegMissing }, () => {
    let server: TestServer;
    let files: HlsFiles;
    const dir = tempDir('upload-hls');

    before(async () => {
      files = makeHlsFiles(dir.path, 6);
      assert.ok(files.segments.length > WINDOW + 1, `ffmpeg made ${files.segments.length} segments`);
      server = await startTestServer(kind, { hlsLiveWindow: String(WINDOW) });
    });
    after(async () => {
      await server?.close();
      dir.remove();
    });

    test('live: a sliding window of the recorded segments that plays; then the VOD recording', async () => {
      const { streamId, scope } = await uploadStream(server);
      assert.equal((await getText(server, `/hls/${streamId}/index.m3u8`)).status, 404, 'not live before the first playlist');

      await uploadLive(server, scope, files, 0, 2);
      let live = await getText(server, `/hls/${streamId}/index.m3u8`);
      assert.equal(live.status, 200, live.text);
      assert.match(live.type, /application\/vnd\.apple\.mpegurl/);
      let parsed = mediaLines(live.text);
      assert.equal(parsed.tags.get('#EXT-X-MEDIA-SEQUENCE'), '0');
      assert.equal(parsed.uris.length, 2);
      assert.equal(parsed.tags.has('#EXT-X-ENDLIST'), false);

      const n = files.segments.length;
      await uploadLive(server, scope, files, 2, n);
      live = await getText(server, `/hls/${streamId}/index.m3u8`);
      parsed = mediaLines(live.text);
      assert.equal(parsed.uris.length, WINDOW, live.text);
      assert.equal(parsed.tags.get('#EXT-X-MEDIA-SEQUENCE'), String(n - WINDOW), 'the first listed segment is the window start');
      assert.equal(parsed.tags.get('#EXT-X-TARGETDURATION'), String(Math.ceil(Math.max(...files.segments.map((s) => Math.round(s.duration * 1000) / 1000)))));
      const broadcast = await server.running.core.broadcasts.latest(streamId);
      assert.ok(broadcast);
      assert.deepEqual(parsed.uris, files.segments.slice(n - WINDOW).map((_, i) => `${broadcast.id}/seg-${String(n - WINDOW + i).padStart(5, '0')}.ts`));
      parsed.extinf.forEach((d, i) => assert.ok(Math.abs(d - files.segments[n - WINDOW + i]!.duration) < 0.001));

      // The segments served are the uploaded bytes.
      const segment = await fetch(`${server.url}/hls/${streamId}/${parsed.uris[0]}`);
      assert.equal(segment.status, 200);
      assert.equal(segment.headers.get('content-type'), 'video/mp2t');
      assert.deepEqual(Buffer.from(await segment.arrayBuffer()), files.segments[n - WINDOW]!.data);
      assert.equal((await fetch(`${server.url}/hls/${streamId}/${broadcast.id}/seg-${String(n + 5).padStart(5, '0')}.ts`)).status, 404);

      const livePlay = await probe(`${server.url}/hls/${streamId}/index.m3u8`);
      assert.deepEqual(livePlay.codecs, ['aac', 'h264']);

      // Stop, then the SDK's last upload.
      await server.running.core.broadcasts.end(streamId);
      await server.running.uploadIngest.put(scope, 'vod.m3u8', files.vod(), PLAYLIST_META);
      assert.equal((await getText(server, `/hls/${streamId}/index.m3u8`)).status, 404, 'no live playlist after stop');
      const vod = await getText(server, `/hls/${streamId}/vod.m3u8`);
      assert.equal(vod.status, 200);
      const vodLines = mediaLines(vod.text);
      assert.equal(vodLines.uris.length, n);
      assert.ok(vodLines.tags.has('#EXT-X-ENDLIST'));
      assert.equal(vodLines.tags.get('#EXT-X-PLAYLIST-TYPE'), 'VOD');

      const recorded = await probe(`${server.url}/hls/${streamId}/vod.m3u8`);
      assert.deepEqual(recorded.codecs, ['aac', 'h264']);
      assert.ok(Math.abs(recorded.duration - files.totalDuration) < 0.5, `VOD lasts ${recorded.duration} s, uploaded ${files.totalDuration} s`);
    });

    test('a private upload-fed stream plays only with a viewer token', async () => {
      const { streamId, scope } = await uploadStream(server);
      await server.running.store.db.updateTable('streams').set({ is_private: 1 }).where('id', '=', streamId).execute();
      await uploadLive(server, scope, files, 0, 2);
      const broadcast = await server.running.core.broadcasts.latest(streamId);
      assert.equal((await getText(server, `/hls/${streamId}/index.m3u8`)).status, 403);
      assert.equal((await getText(server, `/hls/${streamId}/${broadcast!.id}/seg-00000.ts`)).status, 403);
      const token = await server.running.core.viewing.mintToken(streamId);
      const live = await getText(server, `/hls/${streamId}/index.m3u8?token=${encodeURIComponent(token!)}`);
      assert.equal(live.status, 200);
      const uri = mediaLines(live.text).uris[0]!;
      assert.match(uri, /\?token=/);
      assert.equal((await fetch(`${server.url}/hls/${streamId}/${uri}`)).status, 200);
    });

    test('segment URLs of another stream or a non-segment name find nothing', async () => {
      const a = await uploadStream(server);
      const b = await uploadStream(server);
      await uploadLive(server, a.scope, files, 0, 1);
      const broadcast = await server.running.core.broadcasts.latest(a.streamId);
      assert.equal((await getText(server, `/hls/${a.streamId}/${broadcast!.id}/seg-00000.ts`)).status, 200);
      assert.equal((await getText(server, `/hls/${b.streamId}/${broadcast!.id}/seg-00000.ts`)).status, 404);
      assert.equal((await getText(server, `/hls/${a.streamId}/${broadcast!.id}/index0.ts`)).status, 404);
      await server.running.uploadIngest.put(a.scope, files.segments[1]!.name, files.segments[1]!.data, SEGMENT_META);
      assert.equal((await getText(server, `/hls/${a.streamId}/${broadcast!.id}/seg-00001.ts`)).status, 404, 'uploaded but never listed: not recorded');
    });
  });
}
