/**
 * Publishers the server must refuse, with the real encoder: an unknown key, a key sent to the
 * wrong application, a stream id instead of its key, a disabled stream, and a second encoder on
 * a stream already live from another. Each is told no (an onStatus error: ffmpeg exits non-zero
 * at once), and nothing is written: no broadcast, no segment, no file, no event. The encoder
 * already live carries on unharmed; of several racing for one key at once, exactly one is taken.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  assertPublished,
  assertRefused,
  broadcastsOf,
  checkRecording,
  ffmpegMissing,
  isStreaming,
  mediaFiles,
  publish,
  rtmpUrl,
  sleep,
  StreamEvents,
  userWithStream,
  waitForStreaming,
} from './support.js';

const WINDOW = 1;

describe('refused publishers', { skip: ffmpegMissing }, () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer('sqlite', { reconnectWindow: String(WINDOW), hlsSegmentDuration: '2' });
  });

  after(async () => {
    await server?.close();
  });

  test('an unknown key, the wrong application, or the stream id as key: refused, nothing written', async () => {
    const f = await userWithStream(server, 'refused');
    const events = new StreamEvents(server, f.stream.id);
    try {
      const before = await server.snapshot();
      const filesBefore = mediaFiles(server);
      const attempts: [string, string][] = [
        ['an unknown key', rtmpUrl(server, randomBytes(16).toString('base64url'))],
        ['the key on another application', rtmpUrl(server, f.stream.streamKey, 'other')],
        ['the stream id instead of the key', rtmpUrl(server, f.stream.id)],
      ];
      for (const [label, url] of attempts) {
        const refused = await assertRefused(label, publish(url, 4));
        assert.match(refused.stderr, /error/i, `${label}: ffmpeg reports the server's refusal`);
      }
      assert.equal(await isStreaming(server, f), false);
      assert.equal(await server.snapshot(), before, 'no row changed: no broadcast, no segment');
      assert.deepEqual(mediaFiles(server), filesBefore, 'no file written');
      assert.deepEqual(events.sequence(), [], 'no event');
    } finally {
      events.close();
    }
  });

  test('a disabled stream: refused, nothing written', async () => {
    const f = await userWithStream(server, 'disabled');
    await server.running.store.streams.setEnabled(f.stream.id, false, new Date().toISOString());
    const events = new StreamEvents(server, f.stream.id);
    try {
      const before = await server.snapshot();
      const filesBefore = mediaFiles(server);
      await assertRefused('a disabled stream', publish(rtmpUrl(server, f.stream.streamKey), 4));
      assert.equal(await isStreaming(server, f), false);
      assert.equal(await server.snapshot(), before, 'no row changed');
      assert.deepEqual(mediaFiles(server), filesBefore, 'no file written');
      assert.deepEqual(events.sequence(), [], 'no event');
    } finally {
      events.close();
    }
  });

  test('a second encoder on a stream live from another is refused; the first continues unharmed', async () => {
    const SECONDS = 8;
    const f = await userWithStream(server, 'twice');
    const events = new StreamEvents(server, f.stream.id);
    try {
      const first = publish(rtmpUrl(server, f.stream.streamKey), SECONDS);
      await waitForStreaming(server, f, true, 5_000);
      await events.waitFor('segment.written', 1);
      const [broadcast] = await broadcastsOf(server, f.stream.id);
      const filesBefore = mediaFiles(server).filter((file) => !file.includes(broadcast!.id));

      const second = await assertRefused('the second encoder', publish(rtmpUrl(server, f.stream.streamKey), 4));
      assert.match(second.stderr, /error/i);
      assert.ok(first.running, 'the first encoder is still publishing');
      assert.equal(await isStreaming(server, f), true);

      await assertPublished('the first encoder', first);
      await waitForStreaming(server, f, false, (WINDOW + 5) * 1000);
      const broadcasts = await broadcastsOf(server, f.stream.id);
      assert.equal(broadcasts.length, 1, 'the refusal made no broadcast');
      assert.deepEqual(mediaFiles(server).filter((file) => !file.includes(broadcast!.id)), filesBefore, 'no file outside the live broadcast');
      // The first encoder's recording is whole: every second it sent, no reconnect in it.
      const { playlist } = await checkRecording(server, f.stream.id, broadcast!.id, { seconds: SECONDS });
      await events.waitFor('broadcast.ended');
      assert.deepEqual(events.sequence(), [
        'broadcast.started',
        'publish.started',
        `segment.written×${playlist.entries.length}`,
        'publish.ended',
        'broadcast.ended',
      ], 'one publish: the refused encoder left no trace on the bus');
    } finally {
      events.close();
    }
  });
});

for (const kind of databaseKinds()) {
  describe(`encoders racing for one stream (${kind})`, { skip: ffmpegMissing }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(kind, { reconnectWindow: String(WINDOW), hlsSegmentDuration: '2' });
    });

    after(async () => {
      await server?.close();
    });

    test('several encoders publishing one key at the same moment (a slow database): exactly one is taken, the others are refused', async () => {
      const RACERS = 4;
      const SECONDS = 2;
      // The database is slow to answer whether the stream is already live, so the encoders'
      // publishes overlap while the server decides: the decision must still admit only one.
      const store = server.running.store;
      const transaction = store.transaction;
      store.transaction = function <T>(work: Parameters<typeof transaction<T>>[0]) {
        return transaction.call(store, (tx) => {
          const findOpen = tx.broadcasts.findOpen.bind(tx.broadcasts);
          tx.broadcasts.findOpen = async (streamId: string) => {
            const open = await findOpen(streamId);
            await sleep(500);
            return open;
          };
          return work(tx);
        }) as Promise<T>;
      };
      const f = await userWithStream(server, 'race');
      const events = new StreamEvents(server, f.stream.id);
      try {
        const racers = Array.from({ length: RACERS }, () => publish(rtmpUrl(server, f.stream.streamKey), SECONDS));
        const results = await Promise.all(racers.map((r) => r.done));
        const outcome = results.map((r) => (r.code === 0 ? 'published' : `exit ${r.code ?? r.signal}: ${r.stderr.trim().split('\n')[0]}`));
        assert.equal(results.filter((r) => r.code === 0).length, 1, `one encoder publishes, the others are refused:\n${outcome.join('\n')}`);
        for (const r of results) if (r.code !== 0) assert.equal(r.signal, null, 'refused, not left hanging');
        await waitForStreaming(server, f, false, (WINDOW + 5) * 1000);
        assert.equal((await broadcastsOf(server, f.stream.id)).length, 1, 'one broadcast');
        assert.equal(events.of('publish.started').length, 1, 'one publish started');
      } finally {
        store.transaction = transaction;
        events.close();
      }
    });
  });
}
