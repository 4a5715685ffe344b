/**
 * What the live API's controls do to a live encoder (ffmpeg publishing over RTMP): a reset key
 * cuts the publisher at once and the old key is refused while the new one continues the same
 * asset; `complete` ends the broadcast without waiting for the reconnect window; `disable` cuts
 * the publisher and refuses new ones until `enable`; a broadcast that runs longer than its
 * stream's `max_continuous_duration` is ended.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tempDir } from '../../media/support.js';
import { encoder, ffmpegMissing, inspect, makeFlv, startFfmpegReceiver, waitFor } from '../../media/relay/support.js';
import { LOCAL_PEERS } from '../../helpers/server.js';
import { muxAccount } from './support.js';

/** A long reconnect window: every end seen here comes from a control, not from the window. */
const WINDOW = 60;


/** Resolves with the exit code when the process ends within `ms`, else undefined. */
async function endsWithin(exited: Promise<number | null>, ms: number): Promise<number | null | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  const result = await Promise.race([exited, timeout]);
  clearTimeout(timer);
  return result;
}

for (const kind of databaseKinds()) {
  describe(`the live API's controls act on a live encoder (${kind})`, { skip: ffmpegMissing }, () => {
    let server: TestServer;
    const dir = tempDir('mux-controls');
    let source: string;

    before(async () => {
      server = await startTestServer(kind, { ...LOCAL_PEERS, hlsSegmentDuration: '1' });
      source = `${dir.path}/loop.flv`;
      makeFlv(source, 'av', 2);
    });

    after(async () => {
      await server?.close();
      dir.remove();
    });

    test('reset-stream-key cuts the publisher; the old key is refused; the new key continues the same asset; complete ends it now', async () => {
      const { mux } = await muxAccount(server);
      const stream = await mux.video.liveStreams.create({ reconnect_window: WINDOW });
      const first = encoder(server.running.rtmpPort, stream.stream_key, source);
      try {
        const active = await waitFor('active', async () => ((await mux.video.liveStreams.retrieve(stream.id)).status === 'active' ? true : undefined));
        assert.ok(active);
        const assetId = (await mux.video.liveStreams.retrieve(stream.id)).active_asset_id!;
        // Some media first: the asset is ready once its first segment is stored.
        await waitFor('the asset to be ready', async () => (await mux.video.assets.retrieve(assetId)).status === 'ready');
        const reset = await mux.video.liveStreams.resetStreamKey(stream.id);
        assert.notEqual(await endsWithin(first.exited, 10_000), undefined, 'the publisher with the old key was cut');

        const stale = encoder(server.running.rtmpPort, stream.stream_key, source);
        const staleCode = await endsWithin(stale.exited, 10_000);
        assert.notEqual(staleCode, undefined, 'a publish with the old key is refused');
        assert.notEqual(staleCode, 0);

        const second = encoder(server.running.rtmpPort, reset.stream_key, source);
        try {
          await waitFor('the new key to publish', async () => ((await mux.video.liveStreams.retrieve(stream.id)) as { active_ingest_protocol?: string }).active_ingest_protocol === 'rtmp');
          assert.equal((await mux.video.liveStreams.retrieve(stream.id)).active_asset_id, assetId, 'within the reconnect window: the same asset');
          const started = Date.now();
          await mux.video.liveStreams.complete(stream.id);
          assert.equal((await mux.video.liveStreams.retrieve(stream.id)).status, 'idle', 'complete ends the broadcast at once');
          assert.ok(Date.now() - started < WINDOW * 1000 / 4);
          assert.notEqual(await endsWithin(second.exited, 10_000), undefined, 'complete cuts the publisher');
          const asset = await mux.video.assets.retrieve(assetId);
          assert.equal(asset.status, 'ready');
          assert.equal(asset.is_live, false);
        } finally {
          second.kill();
        }
      } finally {
        first.kill();
      }
    });

    test('a simulcast target added while the stream is live starts at once; one deleted stops at once', async () => {
      const { mux } = await muxAccount(server);
      const stream = await mux.video.liveStreams.create({ reconnect_window: WINDOW });
      const live = encoder(server.running.rtmpPort, stream.stream_key, source);
      const receiver = await startFfmpegReceiver(dir.path, 'late', { app: 'app', name: 'late-key' });
      try {
        await waitFor('active', async () => ((await mux.video.liveStreams.retrieve(stream.id)).status === 'active' ? true : undefined));
        const target = await mux.video.liveStreams.createSimulcastTarget(stream.id, { url: `rtmp://127.0.0.1:${receiver.port}/app`, stream_key: 'late-key' });
        await waitFor('the target to broadcast', async () => (await mux.video.liveStreams.retrieveSimulcastTarget(stream.id, target.id)).status === 'broadcasting');
        await new Promise((resolve) => setTimeout(resolve, 2000));
        await mux.video.liveStreams.deleteSimulcastTarget(stream.id, target.id);
        assert.equal(await receiver.finish(10_000), 0, `the receiver saw its publisher leave: ${receiver.stderr()}`);
        const got = inspect(receiver.file);
        assert.equal(got.videoCodec, 'h264');
        assert.ok(got.videoSeconds > 1, `the target got ${got.videoSeconds} s`);
        assert.equal((await mux.video.liveStreams.retrieve(stream.id)).status, 'active', 'the stream went on');
        await mux.video.liveStreams.complete(stream.id);
      } finally {
        live.kill();
        await receiver.kill();
      }
    });

    test('disable cuts a live publisher and refuses new ones; enable lets them in again', async () => {
      const { mux } = await muxAccount(server);
      const stream = await mux.video.liveStreams.create({ reconnect_window: WINDOW });
      const live = encoder(server.running.rtmpPort, stream.stream_key, source);
      try {
        await waitFor('active', async () => ((await mux.video.liveStreams.retrieve(stream.id)).status === 'active' ? true : undefined));
        const assetId = (await mux.video.liveStreams.retrieve(stream.id)).active_asset_id!;
        await mux.video.liveStreams.disable(stream.id);
        assert.notEqual(await endsWithin(live.exited, 10_000), undefined, 'the live publisher was cut');
        const disabled = await mux.video.liveStreams.retrieve(stream.id);
        assert.equal(disabled.status, 'disabled');
        assert.equal(disabled.active_asset_id, undefined, 'its broadcast ended');
        assert.equal((await mux.video.assets.retrieve(assetId)).is_live, false);

        const refused = encoder(server.running.rtmpPort, stream.stream_key, source);
        const code = await endsWithin(refused.exited, 10_000);
        assert.notEqual(code, undefined, 'a disabled stream refuses publishers');
        assert.notEqual(code, 0);
        assert.equal((await mux.video.liveStreams.retrieve(stream.id)).status, 'disabled');

        await mux.video.liveStreams.enable(stream.id);
        const again = encoder(server.running.rtmpPort, stream.stream_key, source);
        try {
          await waitFor('active again', async () => ((await mux.video.liveStreams.retrieve(stream.id)).status === 'active' ? true : undefined));
          assert.notEqual((await mux.video.liveStreams.retrieve(stream.id)).active_asset_id, assetId, 'a new broadcast, a new asset');
          await mux.video.liveStreams.complete(stream.id);
        } finally {
          again.kill();
        }
      } finally {
        live.kill();
      }
    });

    test('a broadcast that runs longer than its stream allows is ended, publisher and all', async () => {
      const a = await muxAccount(server);
      const stream = await a.mux.video.liveStreams.create({ reconnect_window: WINDOW, max_continuous_duration: 60 });
      // The API's floor is 60 s; the limit is lowered under it in the database so the test takes seconds.
      await server.running.store.db.updateTable('streams').set({ max_continuous_duration: 3 }).where('id', '=', stream.id).execute();
      const live = encoder(server.running.rtmpPort, stream.stream_key, source);
      try {
        await waitFor('active', async () => ((await a.mux.video.liveStreams.retrieve(stream.id)).status === 'active' ? true : undefined));
        const started = Date.now();
        assert.notEqual(await endsWithin(live.exited, 15_000), undefined, 'the publisher was cut');
        const elapsed = Date.now() - started;
        assert.ok(elapsed < 10_000, `ended after ${elapsed} ms, by the limit and not by the ${WINDOW} s window`);
        const ended = await a.mux.video.liveStreams.retrieve(stream.id);
        assert.equal(ended.status, 'idle');
        const asset = await a.mux.video.assets.retrieve(ended.recent_asset_ids![0]!);
        assert.ok(asset.duration! < 6, `the recording is ${asset.duration} s long`);
      } finally {
        live.kill();
      }
    });
  });
}
