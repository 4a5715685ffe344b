/**
 * Go live after a preview, end to end: ffmpeg publishes to a preview_required stream whose
 * custom RTMP account points at an ffmpeg RTMP receiver. The receiver gets nothing during the
 * preview, gets the stream after setPushing(true), and is let go after setPushing(false).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { msStream, GoLiveEvents } from '../helpers/go-live.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegMissing, makeFlv, tempDir } from '../media/support.js';
import { assertDecodable, inspect, publish, sleep, startFfmpegReceiver, waitFor, type FfmpegReceiver } from '../media/relay/support.js';

describe('go live after a preview', { skip: ffmpegMissing }, () => {
  const dir = tempDir('go-live');
  let server: TestServer;
  let receiver: FfmpegReceiver | undefined;

  before(async () => {
    server = await startTestServer('sqlite', { ...LOCAL_PEERS, reconnectWindow: '0' });
  });
  after(async () => {
    await receiver?.kill();
    await server?.close();
    dir.remove();
  });

  test('the receiver gets nothing until setPushing(true), then the stream, and is let go after setPushing(false)', async () => {
    const source = join(dir.path, 'source.flv');
    makeFlv(source, 'av', 14);
    receiver = await startFfmpegReceiver(dir.path, 'golive', { app: 'live', name: 'x' });
    const core = server.running.core;
    const f = await msStream(server, { previewRequired: true, rtmpUrl: receiver.url });
    const events = new GoLiveEvents(server, f.streamId);

    const publisher = publish(server.running.rtmpPort, f.key, source);
    await waitFor('the preview to be incoming', async () => (await core.goLive.status(f.streamId)).dataIncoming, 15_000);
    await waitFor('the HLS preview', async () => (await server.request('GET', `/hls/${f.streamId}/index.m3u8`)).status === 200, 15_000);
    await sleep(1500);
    assert.equal((await core.goLive.status(f.streamId)).dataPushing, false);
    const [destination] = await core.streams.destinationsOf(f.streamId);
    assert.equal(core.relays.get(destination!.id, f.streamId).state, 'idle', 'no relay during the preview');
    assert.ok(receiver.running, 'the receiver is still waiting for a publisher');

    assert.equal((await core.goLive.setPushing(f.streamId, true)).dataPushing, true);
    await waitFor('the relay to be live', () => core.relays.get(destination!.id, f.streamId).state === 'live', 15_000);
    await sleep(3000);
    assert.equal((await core.goLive.setPushing(f.streamId, false)).dataPushing, false);
    // Stopping the relay ends the receiver's input: ffmpeg finishes its file and exits.
    assert.equal(await receiver.finish(15_000), 0, receiver.stderr());
    assert.equal(core.relays.get(destination!.id, f.streamId).state, 'idle');
    assert.equal((await core.goLive.status(f.streamId)).dataIncoming, true, 'the publisher goes on: only the relays stopped');

    const got = inspect(receiver.file);
    assertDecodable('receiver', got);
    assert.equal(got.videoCodec, 'h264');
    assert.ok(got.videoSeconds >= 1.5 && got.videoSeconds < 10, `the receiver got the pushed part only (${got.videoSeconds} s)`);

    publisher.kill();
    await publisher.done;
    await waitFor('go-live events', () => events.types.filter((t) => t.startsWith('stream.push')).length >= 2);
    assert.deepEqual(events.types.filter((t) => t.startsWith('stream.push')), ['stream.push_started', 'stream.push_stopped']);
    events.close();
  });
});
