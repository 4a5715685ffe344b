/**
 * When relays start and stop: a publisher that drops ends them cleanly (FCUnpublish,
 * deleteStream) and one that comes back within the reconnect window starts them again; a
 * server shutting down unpublishes them; a destination that refuses the publish is in error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { tempDir } from '../support.js';
import {
  assertDecodable,
  assertReceived,
  destination,
  ffmpegMissing,
  inspect,
  makeFlv,
  publish,
  RelayEvents,
  sleep,
  startFfmpegReceiver,
  tapProxy,
  userWithStream,
  waitFor,
} from './support.js';

const SECONDS = 4;
const WINDOW = 3;

describe('relay lifecycle', { skip: ffmpegMissing }, () => {
  const dir = tempDir('relay-lifecycle');
  let source: string;
  let server: TestServer;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    source = join(dir.path, 'source.flv');
    makeFlv(source, 'av', SECONDS);
    server = await startTestServer('sqlite', { ...LOCAL_PEERS, reconnectWindow: String(WINDOW), relayRetryMax: '2' });
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await server?.close();
    dir.remove();
  });

  test('a publisher that drops stops the relays cleanly; back within the reconnect window, they start again', async () => {
    const first = await startFfmpegReceiver(dir.path, 'before-drop');
    closers.push(() => first.kill());
    const tap = await tapProxy(first.port);
    closers.push(() => tap.close());
    const f = await userWithStream(server);
    const events = new RelayEvents(server);
    closers.push(async () => events.close());
    const d = await destination(server, f, 'RTMP', `rtmp://127.0.0.1:${tap.port}/app/resumable`);

    const dropping = publish(server.running.rtmpPort, f.stream.streamKey, source);
    await events.waitForState(d.id, 'live');
    await sleep(1_500);
    dropping.kill(); // no FCUnpublish: the TCP connection just goes
    await dropping.done;
    await events.waitForState(d.id, 'idle', 2_000);
    assert.equal(await first.finish(3_000), 0, first.stderr());
    assert.deepEqual(tap.commands(0).slice(-2), ['FCUnpublish', 'deleteStream'], tap.commands(0).join(', '));
    const cut = inspect(first.file);
    assertDecodable('receiver before the drop', cut);
    assert.ok(cut.videoSeconds > 1 && cut.videoSeconds < 2.6, `${cut.videoSeconds} s before the drop`);

    // The encoder is back within the window: the broadcast resumes and so do its relays.
    const second = await startFfmpegReceiver(dir.path, 'after-drop', { port: first.port });
    closers.push(() => second.kill());
    const resumedAt = Date.now();
    const resumed = publish(server.running.rtmpPort, f.stream.streamKey, source);
    await events.waitFor('the relay to resume', d.id, (e) => e.state === 'live' && e.at > resumedAt, 3_000);
    const done = await resumed.done;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(await second.finish(), 0, second.stderr());
    assertReceived('receiver after the drop', inspect(second.file), SECONDS);
    assert.deepEqual(tap.commands(1).slice(-2), ['FCUnpublish', 'deleteStream']);
    await events.waitForState(d.id, 'idle');
    assert.deepEqual(events.states(d.id), ['connecting', 'live', 'idle', 'connecting', 'live', 'idle']);

    // The window passes and the broadcast ends; nothing tries to reach the destination again.
    await waitFor('the broadcast to end', async () => (await server.running.core.broadcasts.latest(f.stream.id))?.endedAt != null, (WINDOW + 3) * 1000);
    await sleep(1_500);
    assert.equal(tap.connections, 2);
    assert.equal(events.last(d.id)!.state, 'idle');
  });

  test('a destination that refuses the publish (a second streamdelta, wrong key) is in error, key not shown', async () => {
    const downstream = await startTestServer('sqlite', { reconnectWindow: '0' });
    closers.push(() => downstream.close());
    const f = await userWithStream(server);
    const events = new RelayEvents(server);
    closers.push(async () => events.close());
    const wrongKey = 'NotAKeyOfThatServer123';
    const d = await destination(server, f, 'RTMP', `rtmp://127.0.0.1:${downstream.running.rtmpPort}/live/${wrongKey}`);

    const publisher = publish(server.running.rtmpPort, f.stream.streamKey, source);
    const refused = await events.waitFor('the refusal', d.id, (e) => e.state === 'error');
    assert.match(refused.lastError ?? '', /publish refused: NetStream\.Publish\.BadName/);
    assert.doesNotMatch(refused.lastError ?? '', new RegExp(wrongKey));
    const published = await publisher.done;
    assert.equal(published.code, 0, published.stderr);
    const end = await events.waitForState(d.id, 'idle');
    assert.ok(end.reconnects >= 1, `retried while live (${end.reconnects})`);
    assert.ok(!events.states(d.id).includes('live'));
  });

  test('a server shutting down unpublishes its relays cleanly', async () => {
    const own = await startTestServer('sqlite', { ...LOCAL_PEERS, reconnectWindow: '30', relayRetryMax: '2' });
    let closed = false;
    closers.push(async () => {
      if (!closed) await own.close();
    });
    const receiver = await startFfmpegReceiver(dir.path, 'shutdown');
    closers.push(() => receiver.kill());
    const tap = await tapProxy(receiver.port);
    closers.push(() => tap.close());
    const f = await userWithStream(own);
    const events = new RelayEvents(own);
    const d = await destination(own, f, 'RTMP', `rtmp://127.0.0.1:${tap.port}/app/shutdown`);

    const publisher = publish(own.running.rtmpPort, f.stream.streamKey, source);
    await events.waitForState(d.id, 'live');
    await sleep(1_500);
    await own.close();
    closed = true;
    assert.equal(events.last(d.id)?.state, 'idle');
    events.close();
    assert.equal(await receiver.finish(3_000), 0, receiver.stderr());
    assert.deepEqual(tap.commands().slice(-2), ['FCUnpublish', 'deleteStream'], tap.commands().join(', '));
    const got = inspect(receiver.file);
    assertDecodable('receiver at shutdown', got);
    assert.ok(got.videoSeconds > 1 && got.videoSeconds < 2.6, `${got.videoSeconds} s before the shutdown`);
    await publisher.done;
  });
});
