/**
 * A Kickflip stream's `stream_url` is handed out once, by stream/start, and never changes: a
 * phone app that saved it plays the broadcast live through it (an HLS EVENT playlist that grows
 * from the first segment) and, after stream/stop, the whole recording (the same playlist, ended
 * with #EXT-X-ENDLIST). Driven with the real clients: ffmpeg publishing to `rtmp_url`, ffprobe
 * and plain HTTP reading the URL before and after the stop. On SQLite (the media plane is the
 * same on both databases; the upload flow in test/e2e/kickflip-upload.test.ts runs on both).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { assertPublished, ffmpegMissing, parsePlaylist, publish, run, waitFor } from '../../media/e2e/support.js';
import { call, newClient, newDevice, ok, startStream, type Device } from './support.js';

/** The URL as the server hands it out names the public URL's port: the same path on the test server's real address. */
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

async function playlistAt(server: TestServer, url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(reachable(server, url));
  return { status: response.status, text: await response.text() };
}

describe('Kickflip stream_url: one URL, live then the recording (sqlite)', { skip: ffmpegMissing }, () => {
  let server: TestServer;
  let phone: Device;
  before(async () => {
    server = await startTestServer('sqlite', { publicUrl: 'http://127.0.0.1:8080', reconnectWindow: '30' });
    phone = await newDevice(server, await newClient(server, 'Saved URL App'));
  });
  after(() => server?.close());

  it('plays the broadcast live, then the whole recording after stream/stop, at the URL stream/start gave', async () => {
    const started = await startStream(server, phone, { title: 'Saved for later' });
    const url: string = started.stream_url;
    assert.match(url, /^http:\/\/127\.0\.0\.1:8080\/hls\//);
    const id = started.stream_id as string;
    const shown = async (): Promise<string[]> => [
      ok(await call(server, phone.token, 'stream/info', { stream_id: id })).stream_url,
      ok(await call(server, phone.token, 'search', { keyword: 'Saved for later' })).streams[0].stream_url,
      ok(await call(server, phone.token, 'search/user', { username: phone.user.name })).streams[0].stream_url,
    ];
    assert.deepEqual(await shown(), [url, url, url], 'every answer shows the URL stream/start gave');
    assert.equal((await playlistAt(server, url)).status, 404, 'nothing to play before the first segment');

    const encoder = publish(started.rtmp_url, 4);
    const live = await waitFor('the first segment at the saved URL', async () => {
      const reply = await playlistAt(server, url);
      return reply.status === 200 && reply.text.includes('.ts') ? reply.text : undefined;
    });
    const livePlaylist = parsePlaylist(live);
    assert.ok(livePlaylist.tags.includes('#EXT-X-PLAYLIST-TYPE:EVENT'), `a live broadcast is an EVENT playlist:\n${live}`);
    assert.ok(!livePlaylist.tags.includes('#EXT-X-ENDLIST'), `not ended while live:\n${live}`);
    assert.ok(livePlaylist.tags.includes('#EXT-X-MEDIA-SEQUENCE:0'), `it starts at the broadcast's first segment:\n${live}`);
    const whileLive = await probe(reachable(server, url));
    assert.deepEqual(whileLive.codecs, ['aac', 'h264']);
    assert.deepEqual(await shown(), [url, url, url], 'unchanged while live');
    await assertPublished('kickflip encoder', encoder);

    const stopped = ok(await call(server, phone.token, 'stream/stop', { stream_id: id, uuid: phone.user.uuid }));
    assert.equal(stopped.stream_url, url, 'stream/stop answers the same URL');
    assert.deepEqual(await shown(), [url, url, url], 'unchanged after stop');

    const [broadcast] = await server.running.core.broadcasts.list(id as never);
    const recording = await server.running.core.broadcasts.recording(broadcast!);
    const ended = await playlistAt(server, url);
    assert.equal(ended.status, 200, `the saved URL plays after the stop:\n${ended.text}`);
    const endedPlaylist = parsePlaylist(ended.text);
    assert.equal(endedPlaylist.tags[endedPlaylist.tags.length - 1], '#EXT-X-ENDLIST', `the recording is finished:\n${ended.text}`);
    assert.ok(endedPlaylist.tags.includes('#EXT-X-PLAYLIST-TYPE:EVENT'), 'the playlist type a player saw while live does not change');
    assert.equal(endedPlaylist.entries.length, recording.segments.length, 'every recorded segment, from the first');
    const afterStop = await probe(reachable(server, url));
    assert.deepEqual(afterStop.codecs, ['aac', 'h264']);
    assert.ok(Math.abs(afterStop.duration - recording.duration) < 0.5, `the URL plays ${afterStop.duration} s of a ${recording.duration} s recording`);

    // The key still publishes (a new broadcast of the stream): what the saved URL plays stays the first broadcast.
    await assertPublished('publishing again after stop', publish(started.rtmp_url, 2));
    // Stopping again ends the second broadcast without waiting out its reconnect window.
    ok(await call(server, phone.token, 'stream/stop', { stream_id: id, uuid: phone.user.uuid }));
    const all = await server.running.core.broadcasts.list(id as never);
    assert.equal(all.length, 2);
    assert.ok(all.every((b) => b.endedAt !== null));
    assert.equal((await playlistAt(server, url)).text, ended.text, 'a later broadcast does not change what the saved URL plays');
    assert.equal(ok(await call(server, phone.token, 'stream/info', { stream_id: id })).stream_url, url);
  });
});
