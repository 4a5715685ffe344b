/**
 * Destinations that stall: one that accepts the connection and never answers, one that takes
 * the publish and then stops reading. Neither may slow the ingest, its HLS output, or another
 * destination; the one that falls behind is dropped at the backlog limit and retried.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { ffmpeg, tempDir } from '../support.js';
import {
  assertReceived,
  destination,
  ffmpegMissing,
  inspect,
  publish,
  RelayEvents,
  SegmentEvents,
  silentServer,
  sleep,
  startFfmpegReceiver,
  tapProxy,
  userWithStream,
  waitFor,
} from './support.js';

const SECONDS = 6;
const MAX_BACKLOG = 65536;

describe('stalled destinations', { skip: ffmpegMissing }, () => {
  const dir = tempDir('relay-stall');
  let source: string;
  let server: TestServer;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    // About 20 Mbit/s (960x540 with noise): loopback socket buffers swallow some 4 MB of a
    // destination that stops reading before anything waits in the server, so the stream must
    // be heavy enough to get past that and the backlog limit within a couple of seconds.
    source = join(dir.path, 'heavy.flv');
    ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc2=size=960x540:rate=30,noise=alls=80:allf=t',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
      '-t', String(SECONDS),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-b:v', '20M', '-maxrate', '20M', '-bufsize', '5M', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-f', 'flv', source,
    ]);
    server = await startTestServer('sqlite', { ...LOCAL_PEERS, reconnectWindow: '0', relayRetryMax: '2', relayMaxBacklog: String(MAX_BACKLOG) });
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await server?.close();
    dir.remove();
  });

  test('stalled destinations slow neither the ingest, nor its HLS output, nor a healthy destination', async (t) => {
    const healthy = await startFfmpegReceiver(dir.path, 'healthy');
    closers.push(() => healthy.kill());
    // Takes the publish, then stops reading when told; later connections hang unanswered.
    const slowReceiver = await startFfmpegReceiver(dir.path, 'slow');
    closers.push(() => slowReceiver.kill());
    const slow = await tapProxy(slowReceiver.port, { forwardConnections: 1 });
    closers.push(() => slow.close());
    // Accepts, completes nothing.
    const silent = await silentServer();
    closers.push(() => silent.close());

    const f = await userWithStream(server);
    const events = new RelayEvents(server);
    const segments = new SegmentEvents(server, f.stream.id);
    closers.push(async () => events.close(), async () => segments.close());
    const toHealthy = await destination(server, f, 'RTMP', healthy.url);
    const toSlow = await destination(server, f, 'RTMP', `rtmp://127.0.0.1:${slow.port}/app/slow`);
    const toSilent = await destination(server, f, 'RTMP', `rtmp://127.0.0.1:${silent.port}/app/silent-secret`);

    const publisher = publish(server.running.rtmpPort, f.stream.streamKey, source);
    await events.waitForState(toSlow.id, 'live');
    await events.waitForState(toHealthy.id, 'live');
    await sleep(500);
    slow.stall();
    const stalledAt = Date.now();

    const dropped = await events.waitFor('the slow destination to be dropped', toSlow.id, (e) => e.state === 'error', 5_000);
    assert.match(dropped.lastError ?? '', new RegExp(`more than ${MAX_BACKLOG} bytes behind`));
    // Retried: the next connection is accepted and never answered.
    await events.waitFor('the slow destination to be retried', toSlow.id, (e) => e.state === 'connecting' && e.reconnects >= 1, 4_000);
    await waitFor('the retry to reach the slow destination', () => slow.connections >= 2, 3_000);
    t.diagnostic(`the slow destination was dropped ${dropped.at - stalledAt} ms after it stopped reading`);

    const published = await publisher.done;
    assert.equal(published.code, 0, published.stderr);
    // The ingest ran in real time: ffmpeg -re took the media's duration, give or take start-up.
    assert.ok(published.wallMs < SECONDS * 1000 + 1_500, `publishing ${SECONDS} s took ${published.wallMs} ms`);

    // The HLS recording of the source is complete, and each segment was stored on time.
    await waitFor('the last segment', () => Math.abs(segments.total - SECONDS) <= 0.1, 3_000);
    let end = 0;
    for (const s of segments.segments) {
      end += s.duration;
      const late = s.at - publisher.startedAt - end * 1000;
      assert.ok(late < 1_500, `segment ${s.sequence} (media up to ${end.toFixed(2)} s) stored ${late} ms after real time`);
    }

    // The healthy destination got everything.
    assert.equal(await healthy.finish(), 0, healthy.stderr());
    assertReceived('healthy receiver', inspect(healthy.file), SECONDS);
    assert.deepEqual(events.states(toHealthy.id), ['connecting', 'live', 'idle']);

    // The silent one never got past connecting, and its connection was closed with the stop.
    await events.waitForState(toSilent.id, 'idle');
    assert.deepEqual(events.states(toSilent.id), ['connecting', 'idle']);
    await waitFor('the silent destination to be hung up on', () => silent.open === 0, 1_000);
    await events.waitForState(toSlow.id, 'idle');
    await waitFor('the stuck retry to be hung up on', () => !slow.isOpen(1), 1_000);
  });
});
