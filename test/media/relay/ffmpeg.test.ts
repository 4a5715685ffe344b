/**
 * Destinations with custom ffmpeg arguments: an ffmpeg child fed the live tags transcodes and
 * pushes; without ffmpeg the destination goes to `error` saying so, and plain relays go on.
 * (No API sets ffmpeg_args yet; the tests write the column through the store, as an import from
 * Multistreamer would.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { DestinationId } from '../../../src/core/kernel/ids.js';
import { UNREACHABLE } from '../../../src/media/rtmp/client.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { tempDir } from '../support.js';
import {
  assertReceived,
  destination,
  ffmpegMissing,
  freePort,
  inspect,
  makeFlv,
  publish,
  RelayEvents,
  startFfmpegReceiver,
  statusesFromApi,
  userWithStream,
} from './support.js';

const SECONDS = 6;
const TRANSCODE = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-vf', 'scale=160:120', '-c:a', 'aac', '-b:a', '64k'];

async function setFfmpegArgs(server: TestServer, id: DestinationId, args: string[]): Promise<void> {
  await server.running.store.db.updateTable('destinations').set({ ffmpeg_args: JSON.stringify(args) }).where('id', '=', id).execute();
}

describe('relays through ffmpeg', { skip: ffmpegMissing }, () => {
  const dir = tempDir('relay-ffmpeg');
  let source: string;
  let server: TestServer;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    source = join(dir.path, 'source.flv');
    makeFlv(source, 'av', SECONDS);
    server = await startTestServer('sqlite', { ...LOCAL_PEERS, reconnectWindow: '0', relayRetryMax: '2' });
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await server?.close();
    dir.remove();
  });

  test('a destination with ffmpeg arguments gets the stream transcoded; ffmpeg errors do not leak the key', async (t) => {
    const receiver = await startFfmpegReceiver(dir.path, 'transcoded');
    closers.push(() => receiver.kill());
    const f = await userWithStream(server);
    const events = new RelayEvents(server);
    closers.push(async () => events.close());
    const transcoded = await destination(server, f, 'RTMP', receiver.url);
    await setFfmpegArgs(server, transcoded.id, TRANSCODE);
    // The same through ffmpeg to a port where nothing listens: the push to it fails first, before
    // any ffmpeg runs, as coarsely as a plain relay's.
    const secretName = 'ffmpeg-secret-4c3b2a';
    const nowhere = await destination(server, f, 'RTMP', `rtmp://127.0.0.1:${await freePort()}/app/${secretName}`);
    await setFfmpegArgs(server, nowhere.id, ['-c', 'copy']);
    // And to an RTMP server that refuses the publish (this server, with a key it does not know):
    // ffmpeg starts only after the destination accepted, so this relay is never live.
    const refusing = await destination(server, f, 'RTMP', `rtmp://127.0.0.1:${server.running.rtmpPort}/live/no-such-key-1a2b`);
    await setFfmpegArgs(server, refusing.id, ['-c', 'copy']);

    const publisher = publish(server.running.rtmpPort, f.stream.streamKey, source);
    await events.waitForState(transcoded.id, 'live');
    // What every local user sees of the relay's ffmpeg (`ps`): FLV in and out on pipes, no destination.
    const relayArgv = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes('-i pipe:0'));
    assert.ok(relayArgv.length >= 1 && relayArgv.every((line) => line.endsWith('-f flv pipe:1')), relayArgv.join('\n'));
    const destinationKey = new URL(receiver.url).pathname.split('/').pop()!;
    assert.ok(relayArgv.every((line) => !line.includes(destinationKey) && !line.includes('rtmp:')), `no destination in ffmpeg's arguments: ${relayArgv.join('\n')}`);
    const failed = await events.waitFor('ffmpeg to fail on the dead destination', nowhere.id, (e) => e.state === 'error');
    t.diagnostic(`ffmpeg's failure as the status shows it: ${failed.lastError}`);
    assert.equal(failed.lastError, UNREACHABLE);
    assert.doesNotMatch(failed.lastError ?? '', new RegExp(secretName));
    assert.ok(!events.states(nowhere.id).includes('live'), 'never live: the destination never accepted the publish');
    const refused = await events.waitFor('the refusing destination to fail', refusing.id, (e) => e.state === 'error');
    assert.match(refused.lastError ?? '', /publish refused: NetStream\.Publish\.BadName/);
    assert.ok(!events.states(refusing.id).includes('live'), 'never live: the destination refused the publish');

    const published = await publisher.done;
    assert.equal(published.code, 0, published.stderr);
    assert.equal(await receiver.finish(), 0, receiver.stderr());
    const got = inspect(receiver.file);
    assertReceived('transcoded receiver', got, SECONDS, 0.35);
    assert.deepEqual([got.width, got.height], [160, 120], 'the receiver got what ffmpeg made, not the source');
    await events.waitForState(transcoded.id, 'idle');
    assert.deepEqual(events.states(transcoded.id), ['connecting', 'live', 'idle']);
    const end = events.last(transcoded.id)!;
    assert.equal(end.reconnects, 0);
    assert.ok(end.bytesSent > 50_000, `bytes fed to ffmpeg: ${end.bytesSent}`);
    const retried = await events.waitForState(nowhere.id, 'idle');
    assert.ok(retried.reconnects >= 1, `the failing ffmpeg destination was retried (${retried.reconnects})`);
    assert.doesNotMatch(JSON.stringify(events.of(nowhere.id)), new RegExp(secretName));
  });

  test('without ffmpeg, a destination with ffmpeg arguments is in error saying so; plain relays still work', async (t) => {
    const noFfmpeg = await startTestServer('sqlite', { ...LOCAL_PEERS, reconnectWindow: '0', relayRetryMax: '2', ffmpegPath: join(dir.path, 'no-such-dir', 'ffmpeg') });
    closers.push(() => noFfmpeg.close());
    const plainReceiver = await startFfmpegReceiver(dir.path, 'plain-next-to-missing-ffmpeg');
    closers.push(() => plainReceiver.kill());
    const f = await userWithStream(noFfmpeg);
    const events = new RelayEvents(noFfmpeg);
    closers.push(async () => events.close());
    // A destination that accepts the publish (another stream of the same server), so what fails is ffmpeg.
    const other = await userWithStream(noFfmpeg);
    const needsFfmpeg = await destination(noFfmpeg, f, 'RTMP', `rtmp://127.0.0.1:${noFfmpeg.running.rtmpPort}/live/${other.stream.streamKey}`);
    await setFfmpegArgs(noFfmpeg, needsFfmpeg.id, TRANSCODE);
    const plain = await destination(noFfmpeg, f, 'RTMP', plainReceiver.url);

    const publisher = publish(noFfmpeg.running.rtmpPort, f.stream.streamKey, source);
    const failed = await events.waitFor('the ffmpeg destination to fail', needsFfmpeg.id, (e) => e.state === 'error');
    assert.match(failed.lastError ?? '', /ffmpeg/);
    t.diagnostic(`status without ffmpeg: ${failed.lastError}`);
    assert.match(failed.lastError ?? '', /not installed|not found/i);
    const fromApi = (await statusesFromApi(noFfmpeg, f)).get(needsFfmpeg.number)!;
    assert.equal(fromApi.lastError, failed.lastError);

    const published = await publisher.done;
    assert.equal(published.code, 0, published.stderr);
    assert.equal(await plainReceiver.finish(), 0, plainReceiver.stderr());
    assertReceived('plain receiver', inspect(plainReceiver.file), SECONDS);
    await events.waitForState(plain.id, 'idle');
    assert.deepEqual(events.states(plain.id), ['connecting', 'live', 'idle']);
    const end = await events.waitForState(needsFfmpeg.id, 'idle');
    assert.ok(!events.states(needsFfmpeg.id).includes('live'), `states ${events.states(needsFfmpeg.id).join(' → ')}`);
    assert.match(end.lastError ?? '', /ffmpeg/);
  });
});
