/**
 * Relay status and retries, end to end: a destination that is down at start (error without
 * its key, backoff, reconnects counted, then the stream once it is up), one that dies
 * mid-stream next to one that keeps going, and destinations changed while live.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { UNREACHABLE } from '../../../src/media/rtmp/client.js';
import { tempDir } from '../support.js';
import {
  assertDecodable,
  assertReceived,
  destination,
  ffmpegMissing,
  freePort,
  inspect,
  makeFlv,
  publish,
  RelayEvents,
  sleep,
  startFfmpegReceiver,
  statusesFromApi,
  userWithStream,
  type StatusEvent,
} from './support.js';

const SECONDS = 6;

/** Each attempt reports 'connecting' once; every attempt after the first is a reconnect. */
function assertReconnectsCounted(events: StatusEvent[]): void {
  const attempts = events.filter((e, i) => e.state === 'connecting' && events[i - 1]?.state !== 'connecting').length;
  const last = events[events.length - 1]!;
  assert.equal(last.reconnects, attempts - 1, `reconnects after ${attempts} attempts (states: ${events.map((e) => `${e.state}/${e.reconnects}`).join(' ')})`);
}

describe('relay status and retries', { skip: ffmpegMissing }, () => {
  const dir = tempDir('relay-status');
  let source: string;
  let server: TestServer;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    source = join(dir.path, 'source.flv');
    makeFlv(source, 'av', SECONDS);
    server = await startTestServer('sqlite', { ...LOCAL_PEERS, reconnectWindow: '1', relayRetryMax: '2' });
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await server?.close();
    dir.remove();
  });

  test('a destination down at start: error without its key, retried with capped backoff, then it gets the stream', async () => {
    const port = await freePort();
    const f = await userWithStream(server);
    const events = new RelayEvents(server);
    closers.push(async () => events.close());
    const secretName = 'down-secret-9f8e7d';
    const down = await destination(server, f, 'RTMP', `rtmp://127.0.0.1:${port}/app/${secretName}`);

    const publisher = publish(server.running.rtmpPort, f.stream.streamKey, source);
    const failed = await events.waitFor('the first error', down.id, (e) => e.state === 'error');
    assert.ok(failed.lastError, 'an error text');
    assert.doesNotMatch(failed.lastError, new RegExp(secretName));
    // Coarse: a closed port and an open one that is not RTMP read the same.
    assert.equal(failed.lastError, UNREACHABLE);
    const fromApi = (await statusesFromApi(server, f)).get(down.number)!;
    assert.ok(['error', 'connecting'].includes(fromApi.state), `API state ${fromApi.state}`);
    assert.equal(fromApi.lastError, failed.lastError, 'GET /streams/{id} shows the last error');

    // Attempts: at once, then ~1 s later, then ~2 s later (relayRetryMax 2), each ±20 %.
    await events.waitFor('a second reconnect', down.id, (e) => e.reconnects >= 2, 8_000);
    const receiver = await startFfmpegReceiver(dir.path, 'late', { port, name: secretName });
    closers.push(() => receiver.kill());
    const live = await events.waitFor('the relay to reach the late receiver', down.id, (e) => e.state === 'live', 5_000);
    const connects = events.of(down.id).filter((e, i, all) => e.state === 'connecting' && all[i - 1]?.state !== 'connecting');
    const gaps = connects.slice(1).map((e, i) => (e.at - connects[i]!.at) / 1000);
    assert.ok(gaps.length >= 2, `gaps ${gaps.join(', ')}`);
    assert.ok(gaps[0]! >= 0.75 && gaps[0]! <= 1.35, `first retry after ${gaps[0]} s (1 s ± 20 %)`);
    for (const gap of gaps.slice(1)) assert.ok(gap >= 1.55 && gap <= 2.55, `later retries after ${gap} s (capped at 2 s ± 20 %)`);

    const published = await publisher.done;
    assert.equal(published.code, 0, published.stderr);
    assert.equal(await receiver.finish(), 0, receiver.stderr());
    const expected = SECONDS - (live.at - publisher.startedAt) / 1000;
    const got = inspect(receiver.file);
    assertReceived('late receiver', got, Math.round(expected), 1.2);

    const end = await events.waitForState(down.id, 'idle');
    assert.ok(end.reconnects >= 2, `reconnects ${end.reconnects}`);
    assert.ok(end.bytesSent > 20_000, `bytes ${end.bytesSent}`);
    assertReconnectsCounted(events.of(down.id));
    const finalApi = (await statusesFromApi(server, f)).get(down.number)!;
    assert.equal(finalApi.state, 'idle');
    assert.equal(finalApi.reconnects, end.reconnects);
    assert.equal(finalApi.bytesSent, end.bytesSent);
  });

  test('a destination that dies mid-stream is retried and does not disturb another; status in GET follows', async () => {
    const steady = await startFfmpegReceiver(dir.path, 'steady');
    closers.push(() => steady.kill());
    const doomed = await startFfmpegReceiver(dir.path, 'doomed');
    closers.push(() => doomed.kill());
    const f = await userWithStream(server);
    const events = new RelayEvents(server);
    closers.push(async () => events.close());
    const toSteady = await destination(server, f, 'RTMP', steady.url);
    const toDoomed = await destination(server, f, 'RTMP', doomed.url);

    const publisher = publish(server.running.rtmpPort, f.stream.streamKey, source);
    const live = await events.waitForState(toSteady.id, 'live');
    await events.waitForState(toDoomed.id, 'live');
    const first = (await statusesFromApi(server, f)).get(toSteady.number)!;
    assert.equal(first.state, 'live');
    assert.equal(first.since, live.since);
    await sleep(2_200);
    // Live relays report their byte count while live.
    const second = (await statusesFromApi(server, f)).get(toSteady.number)!;
    assert.equal(second.state, 'live');
    assert.ok(second.bytesSent > first.bytesSent, `bytes ${first.bytesSent} then ${second.bytesSent}`);

    await doomed.kill();
    const dropped = await events.waitFor('the dropped relay to fail', toDoomed.id, (e) => e.state === 'error', 5_000);
    assert.ok(dropped.lastError, 'the drop has an error text');

    const published = await publisher.done;
    assert.equal(published.code, 0, published.stderr);
    assert.equal(await steady.finish(), 0, steady.stderr());
    assertReceived('steady receiver', inspect(steady.file), SECONDS);
    await events.waitForState(toSteady.id, 'idle');
    assert.deepEqual(events.states(toSteady.id), ['connecting', 'live', 'idle']);
    assert.equal(events.last(toSteady.id)!.reconnects, 0);

    const end = await events.waitForState(toDoomed.id, 'idle');
    assert.ok(end.reconnects >= 1, `the dropped destination was retried (reconnects ${end.reconnects}; states ${events.states(toDoomed.id).join(' → ')})`);
    assertReconnectsCounted(events.of(toDoomed.id));
    assert.ok(end.lastError, 'the last error is kept after the stop');
  });

  test('disabling, removing, enabling and adding destinations while live take effect at once', async () => {
    const keep = await startFfmpegReceiver(dir.path, 'keep');
    const disabled = await startFfmpegReceiver(dir.path, 'disabled');
    const removed = await startFfmpegReceiver(dir.path, 'removed');
    closers.push(() => keep.kill(), () => disabled.kill(), () => removed.kill());
    const f = await userWithStream(server);
    const events = new RelayEvents(server);
    closers.push(async () => events.close());
    const toKeep = await destination(server, f, 'RTMP', keep.url);
    const toDisable = await destination(server, f, 'RTMP', disabled.url);
    const toRemove = await destination(server, f, 'RTMP', removed.url);
    const core = server.running.core;

    const publisher = publish(server.running.rtmpPort, f.stream.streamKey, source);
    for (const d of [toKeep, toDisable, toRemove]) await events.waitForState(d.id, 'live');
    await sleep(1_000);

    const changedAt = Date.now();
    await core.streams.setDestinationEnabled(f.accountId, toDisable.id, false);
    await core.streams.removeDestination(f.accountId, toRemove.id);
    const disabledIdle = await events.waitForState(toDisable.id, 'idle', 2_000);
    const removedIdle = await events.waitForState(toRemove.id, 'idle', 2_000);
    assert.ok(disabledIdle.at - changedAt < 500, `disable took ${disabledIdle.at - changedAt} ms`);
    assert.ok(removedIdle.at - changedAt < 500, `remove took ${removedIdle.at - changedAt} ms`);
    // Their receivers were unpublished and ended, with what they got until then.
    assert.equal(await disabled.finish(3_000), 0, disabled.stderr());
    assert.equal(await removed.finish(3_000), 0, removed.stderr());
    const cutAt = (changedAt - publisher.startedAt) / 1000;
    for (const [label, r] of [['disabled', disabled], ['removed', removed]] as const) {
      const got = inspect(r.file);
      assertDecodable(label, got);
      assert.ok(got.videoSeconds > 0.5 && got.videoSeconds < cutAt + 0.6, `${label}: ${got.videoSeconds} s, cut at ${cutAt} s`);
    }

    // Enabled again (its receiver back up) and a new destination: both start right away.
    const again = await startFfmpegReceiver(dir.path, 'enabled-again', { port: disabled.port });
    const added = await startFfmpegReceiver(dir.path, 'added');
    closers.push(() => again.kill(), () => added.kill());
    const enabledAt = Date.now();
    await core.streams.setDestinationEnabled(f.accountId, toDisable.id, true);
    const toAdded = await destination(server, f, 'RTMP', added.url);
    const againLive = await events.waitFor('the re-enabled relay', toDisable.id, (e) => e.state === 'live' && e.at > enabledAt, 2_000);
    const addedLive = await events.waitForState(toAdded.id, 'live', 2_000);
    assert.ok(againLive.at - enabledAt < 1_000, `enable took ${againLive.at - enabledAt} ms`);
    assert.ok(addedLive.at - enabledAt < 1_000, `add took ${addedLive.at - enabledAt} ms`);

    const published = await publisher.done;
    assert.equal(published.code, 0, published.stderr);
    for (const r of [keep, again, added]) assert.equal(await r.finish(), 0, r.stderr());
    assertReceived('kept destination', inspect(keep.file), SECONDS);
    // The late ones start at the keyframe before they joined (1 s GOP): up to 1 s more than the rest.
    const rest = SECONDS - (enabledAt - publisher.startedAt) / 1000;
    for (const [label, r] of [['re-enabled', again], ['added', added]] as const) {
      const got = inspect(r.file);
      assertDecodable(label, got);
      assert.ok(got.videoSeconds > rest - 0.6 && got.videoSeconds < rest + 1.3, `${label}: ${got.videoSeconds} s, ${rest} s left when it joined`);
    }
    await events.waitForState(toKeep.id, 'idle');
    assert.deepEqual(events.states(toKeep.id), ['connecting', 'live', 'idle']);
    assert.deepEqual(events.states(toRemove.id), ['connecting', 'live', 'idle'], 'a removed destination is not relayed again');
    const statuses = await statusesFromApi(server, f);
    assert.equal(statuses.has(toRemove.number), false);
    assert.equal(statuses.get(toDisable.number)?.state, 'idle');
  });
});
