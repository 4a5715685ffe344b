/**
 * Restreaming end to end, against receivers no one here wrote: `ffmpeg -listen 1` as an RTMP
 * server, and a second streamdelta. A real encoder (ffmpeg -re) publishes 6 s of H.264 + AAC;
 * every receiver must get decodable video of the whole duration.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { tempDir } from '../support.js';
import {
  assertReceived,
  destination,
  downloadRecording,
  ffmpegMissing,
  freePort,
  inspect,
  makeFlv,
  publish,
  RelayEvents,
  selfSignedCertificate,
  startFfmpegReceiver,
  statusesFromApi,
  tapProxy,
  tlsFront,
  userWithStream,
  waitFor,
} from './support.js';

const SECONDS = 6;

describe('relays to real receivers', { skip: ffmpegMissing }, () => {
  const dir = tempDir('relay-receivers');
  let source: string;
  let server: TestServer;
  let youtubePort: number;
  let twitchPort: number;
  let certificate: ReturnType<typeof selfSignedCertificate>;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    source = join(dir.path, 'source.flv');
    makeFlv(source, 'av', SECONDS);
    certificate = selfSignedCertificate(dir.path);
    youtubePort = await freePort();
    twitchPort = await freePort();
    server = await startTestServer('sqlite', {
      ...LOCAL_PEERS,
      reconnectWindow: '1',
      relayRetryMax: '2',
      youtubeIngest: `rtmp://127.0.0.1:${youtubePort}/live2`,
      twitchIngest: `rtmp://127.0.0.1:${twitchPort}/app/`,
      ...(typeof certificate === 'string' ? {} : { relayCaFile: certificate.certFile }),
    });
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await server?.close();
    dir.remove();
  });

  test('an ffmpeg listener and a second streamdelta both get the whole broadcast, decodable; the push ends cleanly', async () => {
    // Receiver 1: ffmpeg in listen mode, behind a tap that keeps what the relay sent.
    const ffmpegReceiver = await startFfmpegReceiver(dir.path, 'plain');
    closers.push(() => ffmpegReceiver.kill());
    const tap = await tapProxy(ffmpegReceiver.port);
    closers.push(() => tap.close());

    // Receiver 2: another streamdelta instance; the relay publishes to its stream key.
    const downstream = await startTestServer('sqlite', { reconnectWindow: '0' });
    closers.push(() => downstream.close());
    const target = await userWithStream(downstream);

    const f = await userWithStream(server);
    const events = new RelayEvents(server);
    closers.push(async () => events.close());
    const toFfmpeg = await destination(server, f, 'RTMP', `rtmp://127.0.0.1:${tap.port}/app/plain`);
    const toStreamdelta = await destination(server, f, 'RTMP', `rtmp://127.0.0.1:${downstream.running.rtmpPort}/live/${target.stream.streamKey}`);

    const publisher = publish(server.running.rtmpPort, f.stream.streamKey, source);
    await events.waitForState(toFfmpeg.id, 'live');
    await events.waitForState(toStreamdelta.id, 'live');
    const downstreamDetail = await downstream.request('GET', `/streams/${target.stream.id}`, { token: target.user.token });
    assert.equal(downstreamDetail.json.payload.isStreaming, true, 'the relay is live on the second streamdelta');

    const published = await publisher.done;
    assert.equal(published.code, 0, published.stderr);
    assert.equal(await ffmpegReceiver.finish(), 0, `the ffmpeg receiver ends when the relay unpublishes:\n${ffmpegReceiver.stderr()}`);
    assertReceived('ffmpeg receiver', inspect(ffmpegReceiver.file), SECONDS);

    // The relay ended the publish as encoders do, then closed.
    const commands = tap.commands();
    assert.deepEqual(commands.slice(0, 5), ['connect', 'releaseStream', 'FCPublish', 'createStream', 'publish'], commands.join(', '));
    assert.deepEqual(commands.slice(-2), ['FCUnpublish', 'deleteStream'], commands.join(', '));

    // The second streamdelta ended its broadcast (reconnect window 0) and recorded all of it.
    await waitFor('the downstream broadcast to end', async () => {
      const latest = await downstream.running.core.broadcasts.latest(target.stream.id);
      return latest?.endedAt != null;
    });
    const recording = await downloadRecording(downstream, target.stream.id, join(dir.path, 'downstream.ts'));
    assert.ok(Math.abs(recording.seconds - SECONDS) <= 0.3, `downstream recording: ${recording.seconds} s in ${recording.segments} segments`);
    assertReceived('second streamdelta', inspect(join(dir.path, 'downstream.ts')), SECONDS, 0.3);

    // Both relays went connecting → live → idle, without a single reconnect.
    for (const d of [toFfmpeg, toStreamdelta]) {
      await events.waitForState(d.id, 'idle');
      assert.deepEqual(events.states(d.id), ['connecting', 'live', 'idle']);
      const last = events.last(d.id)!;
      assert.equal(last.reconnects, 0);
      assert.equal(last.lastError, null);
      assert.ok(last.bytesSent > 60_000, `bytes sent: ${last.bytesSent}`);
    }
    const statuses = await statusesFromApi(server, f);
    assert.equal(statuses.get(toFfmpeg.number)?.state, 'idle');
    assert.equal(statuses.get(toStreamdelta.number)?.state, 'idle');
    // The byte count covers what the receiver got (the tap saw every byte the relay wrote).
    assert.equal(statuses.get(toFfmpeg.number)?.bytesSent, tap.sent().length);
  });

  test('YouTube and Twitch destinations go to the configured ingest bases, key as the stream name', async () => {
    const youtubeKey = 'abcd-efgh-ijkl-mnop-qrst';
    const twitchKey = 'live_123456789_AbCdEfGhIjKlMnOp';
    const youtube = await startFfmpegReceiver(dir.path, 'youtube', { port: youtubePort, app: 'live2', name: youtubeKey });
    closers.push(() => youtube.kill());
    const twitch = await startFfmpegReceiver(dir.path, 'twitch', { port: twitchPort, app: 'app', name: twitchKey });
    closers.push(() => twitch.kill());

    const f = await userWithStream(server);
    const events = new RelayEvents(server);
    closers.push(async () => events.close());
    const toYoutube = await destination(server, f, 'YouTube', youtubeKey);
    const toTwitch = await destination(server, f, 'Twitch', twitchKey);
    const detail = await server.request('GET', `/streams/${f.stream.id}`, { token: f.user.token });
    const urls = (detail.json.payload.destinations as { rtmpUrl: string }[]).map((d) => d.rtmpUrl);
    assert.deepEqual(urls, [`rtmp://127.0.0.1:${youtubePort}/live2/${youtubeKey}`, `rtmp://127.0.0.1:${twitchPort}/app/${twitchKey}`]);

    const publisher = publish(server.running.rtmpPort, f.stream.streamKey, source);
    const published = await publisher.done;
    assert.equal(published.code, 0, published.stderr);
    assert.equal(await youtube.finish(), 0, youtube.stderr());
    assert.equal(await twitch.finish(), 0, twitch.stderr());
    assertReceived('YouTube receiver', inspect(youtube.file), SECONDS);
    assertReceived('Twitch receiver', inspect(twitch.file), SECONDS);
    for (const d of [toYoutube, toTwitch]) {
      await events.waitForState(d.id, 'idle');
      assert.deepEqual(events.states(d.id), ['connecting', 'live', 'idle']);
    }
  });

  test('an rtmps:// destination behind a TLS listener with a self-signed certificate the server trusts', async (t) => {
    if (typeof certificate === 'string') {
      t.skip(certificate);
      return;
    }
    const { cert, key } = certificate;
    const receiver = await startFfmpegReceiver(dir.path, 'tls');
    closers.push(() => receiver.kill());
    const front = await tlsFront(cert, key, receiver.port);
    closers.push(() => front.close());

    // The same destination on a server that does not trust the certificate fails, and says why.
    const untrusting = await startTestServer('sqlite', { ...LOCAL_PEERS, reconnectWindow: '0', relayRetryMax: '2' });
    closers.push(() => untrusting.close());
    const other = await userWithStream(untrusting);
    const otherEvents = new RelayEvents(untrusting);
    closers.push(async () => otherEvents.close());
    const refused = await destination(untrusting, other, 'RTMP', `rtmps://127.0.0.1:${front.port}/app/tls-secret-name`);

    const f = await userWithStream(server);
    const events = new RelayEvents(server);
    closers.push(async () => events.close());
    const secure = await destination(server, f, 'RTMP', `rtmps://127.0.0.1:${front.port}/app/tls`);

    const publisher = publish(server.running.rtmpPort, f.stream.streamKey, source);
    const otherPublisher = publish(untrusting.running.rtmpPort, other.stream.streamKey, source);
    const failed = await otherEvents.waitFor('the untrusting relay to fail', refused.id, (e) => e.state === 'error');
    assert.match(failed.lastError ?? '', /certificate/i);
    assert.doesNotMatch(failed.lastError ?? '', /tls-secret-name/);

    const [published, otherPublished] = await Promise.all([publisher.done, otherPublisher.done]);
    assert.equal(published.code, 0, published.stderr);
    assert.equal(otherPublished.code, 0, otherPublished.stderr);
    assert.equal(await receiver.finish(), 0, receiver.stderr());
    assertReceived('RTMPS receiver', inspect(receiver.file), SECONDS);
    assert.ok(front.handshakes >= 1);
    await events.waitForState(secure.id, 'idle');
    assert.deepEqual(events.states(secure.id), ['connecting', 'live', 'idle']);
    // The refused relay retried while the ingest lived, then stopped with it.
    await otherEvents.waitForState(refused.id, 'idle');
    assert.ok(otherEvents.last(refused.id)!.reconnects >= 1, `reconnects: ${otherEvents.last(refused.id)!.reconnects}`);
  });
});
