/**
 * A Kickflip stream published over RTMP (a phone may use either path): ffmpeg publishing to the
 * `rtmp_url` stream/start returned makes the stream live (stream/info `is_live`, its live HLS
 * playlist served), stream/stop ends the broadcast, whose recording stays; a deleted stream's
 * key is refused. On SQLite (the media plane is the same on both databases).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { assertPublished, assertRefused, ffmpegMissing, publish, waitFor } from '../../media/e2e/support.js';
import { call, newClient, newDevice, ok, startStream, type Device } from './support.js';

describe('Kickflip streams published over RTMP (sqlite)', { skip: ffmpegMissing }, () => {
  let server: TestServer;
  let phone: Device;
  before(async () => {
    // rtmp_url is built on the public URL's host: the test's encoder reaches it there.
    server = await startTestServer('sqlite', { publicUrl: 'http://127.0.0.1:8080', reconnectWindow: '30' });
    phone = await newDevice(server, await newClient(server, 'RTMP Phone'));
  });
  after(() => server?.close());

  it('publishing to rtmp_url goes live; stream/stop ends the broadcast at once, without waiting out the reconnect window', async () => {
    const s = await startStream(server, phone, { title: 'Over RTMP' });
    assert.match(s.rtmp_url, new RegExp(`^rtmp://127\\.0\\.0\\.1:${server.running.rtmpPort}/live/[A-Za-z0-9_-]{22}$`));
    const info = () => call(server, phone.token, 'stream/info', { stream_id: s.stream_id });
    assert.equal(ok(await info()).is_live, false);

    const encoder = publish(s.rtmp_url, 4);
    await waitFor('the stream to go live', async () => ok(await info()).is_live === true);
    const playlist = await waitFor('a live playlist with a segment', async () => {
      const response = await fetch(`${server.url}/hls/${s.stream_id}/index.m3u8`);
      const text = await response.text();
      return response.status === 200 && text.includes('.ts') ? text : undefined;
    });
    assert.match(playlist, /^#EXTM3U/);
    await assertPublished('kickflip rtmp publisher', encoder);

    const stopped = ok(await call(server, phone.token, 'stream/stop', { stream_id: s.stream_id, uuid: phone.user.uuid }));
    assert.equal(stopped.is_live, false);
    assert.ok('time_finished' in stopped);
    const broadcasts = await server.running.core.broadcasts.list(s.stream_id);
    assert.equal(broadcasts.length, 1);
    assert.notEqual(broadcasts[0]!.endedAt, null);
    const recording = await server.running.core.broadcasts.recording(broadcasts[0]!);
    assert.ok(recording.segments.length > 0, 'the broadcast was recorded');
  });

  it('stream/stop while an encoder is publishing cuts the encoder and closes the recording; the key publishes a new broadcast later', async () => {
    const s = await startStream(server, phone, { title: 'Stopped on air' });
    const info = () => call(server, phone.token, 'stream/info', { stream_id: s.stream_id });
    const encoder = publish(s.rtmp_url, 60);
    await waitFor('the stream to go live', async () => ok(await info()).is_live === true);
    await waitFor('a recorded segment', async () => {
      const [broadcast] = await server.running.core.broadcasts.list(s.stream_id);
      return broadcast && (await server.running.core.broadcasts.recording(broadcast)).segments.length > 0;
    });
    ok(await call(server, phone.token, 'stream/stop', { stream_id: s.stream_id, uuid: phone.user.uuid }));
    // The encoder is disconnected at once instead of feeding an ended broadcast for a minute.
    const cut = await encoder.done;
    assert.ok(cut.wallMs < 30_000, `the encoder went on for ${cut.wallMs} ms`);
    assert.equal(cut.signal, null, 'the encoder was disconnected, not killed by the test');
    assert.equal(ok(await info()).is_live, false);
    const vod = await fetch(`${server.url}/hls/${s.stream_id}/vod.m3u8`);
    assert.equal(vod.status, 200);
    assert.match(await vod.text(), /#EXT-X-ENDLIST/);

    await assertPublished('publishing again after stop', publish(s.rtmp_url, 2));
    assert.equal((await server.running.core.broadcasts.list(s.stream_id)).length, 2);
  });

  it("deleting a stream on air cuts its encoder; a deleted stream's key is refused", async () => {
    const live = await startStream(server, phone);
    const encoder = publish(live.rtmp_url, 60);
    await waitFor('the stream to go live', async () => ok(await call(server, phone.token, 'stream/info', { stream_id: live.stream_id })).is_live === true);
    ok(await call(server, phone.token, 'stream/change', { stream_id: live.stream_id, uuid: phone.user.uuid, deleted: true }));
    const cut = await encoder.done;
    assert.ok(cut.wallMs < 30_000, `the encoder went on for ${cut.wallMs} ms`);
    assert.equal(cut.signal, null);
  });

  it("a deleted stream's key is refused", async () => {
    const s = await startStream(server, phone);
    ok(await call(server, phone.token, 'stream/change', { stream_id: s.stream_id, uuid: phone.user.uuid, deleted: true }));
    await assertRefused('deleted kickflip stream', publish(s.rtmp_url, 2));
  });
});
