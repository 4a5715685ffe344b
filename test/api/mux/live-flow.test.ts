/**
 * streamdelta's own API with its real client, the official Mux SDK, end to end: a live stream is
 * made with a playback id and a simulcast target; ffmpeg publishes to its key; the stream goes
 * `active` with an `active_asset_id`; its playback id plays with ffprobe; the target reaches
 * `broadcasting` on a local RTMP receiver; the encoder stops; after the reconnect window the
 * stream is `idle`, the asset `ready` with its duration and its VOD plays; every webhook verifies
 * with `mux.webhooks.unwrap`, in the order Mux sends them. On every database of the suite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from '../../helpers/databases.js';
import { hookReceiver } from '../../helpers/go-live.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { tempDir } from '../../media/support.js';
import { ffmpegMissing, inspect, makeFlv, publish, startFfmpegReceiver, waitFor } from '../../media/relay/support.js';
import { muxAccount, probe } from './support.js';

const SECONDS = 6;
const WINDOW = 2;

/** Whether `wanted` appears in `seen` in this order (other items may come between). */
function inOrder(seen: string[], wanted: string[]): boolean {
  let i = 0;
  for (const type of seen) if (type === wanted[i]) i++;
  return i === wanted.length;
}

for (const kind of databaseKinds()) {
  describe(`the Mux SDK drives a live stream from create to VOD (${kind})`, { skip: ffmpegMissing }, () => {
    let server: TestServer;
    const dir = tempDir('mux-flow');

    before(async () => {
      server = await startTestServer(kind, { ...LOCAL_PEERS, hlsSegmentDuration: '1' });
    });

    after(async () => {
      await server?.close();
      dir.remove();
    });

    test('create → publish → active → play → simulcast → stop → idle → asset ready → VOD', async () => {
      const hooks = await hookReceiver();
      const receiver = await startFfmpegReceiver(dir.path, 'target', { app: 'app', name: 'target-key' });
      try {
        const { mux } = await muxAccount(server);
        const endpoint = await mux.system.webhooks.create({ address: `${hooks.url}/mux` } as never);
        const secret = (endpoint as unknown as { signing_secret: string }).signing_secret;
        assert.match(secret, /^[\w-]{20,}$/, 'the create answer holds the signing secret');

        const stream = await mux.video.liveStreams.create({
          playback_policy: ['public'],
          new_asset_settings: { playback_policy: ['public'] },
          reconnect_window: WINDOW,
          passthrough: 'my-show',
          simulcast_targets: [{ url: receiver.url.replace(/\/target-key$/, ''), stream_key: 'target-key', passthrough: 'the mirror' }],
        });
        assert.equal(stream.status, 'idle');
        assert.match(stream.created_at, /^\d{10}$/, 'created_at is Unix seconds in a string');
        assert.equal(stream.reconnect_window, WINDOW);
        assert.equal(stream.passthrough, 'my-show');
        assert.equal(stream.simulcast_targets?.length, 1);
        assert.equal(stream.simulcast_targets?.[0]?.status, 'idle');
        const playbackId = stream.playback_ids?.[0]?.id;
        assert.ok(playbackId);

        const idleReply = await fetch(`${server.url}/${playbackId}.m3u8`);
        assert.equal(idleReply.status, 404, 'nothing plays while the stream is idle');
        assert.match(await idleReply.text(), /not active/);

        const file = `${dir.path}/source.flv`;
        makeFlv(file, 'av', SECONDS);
        const encoder = publish(server.running.rtmpPort, stream.stream_key, file);

        const active = await waitFor('the stream to be active with an asset', async () => {
          const s = await mux.video.liveStreams.retrieve(stream.id);
          return s.status === 'active' && s.active_asset_id ? s : undefined;
        });
        const assetId = active.active_asset_id!;

        // The live playlist at Mux's path plays (ffprobe reads it and its segments).
        await waitFor('the live playlist to list a segment', async () => {
          const reply = await fetch(`${server.url}/${playbackId}.m3u8`);
          return reply.status === 200 && (await reply.text()).includes('.ts');
        });
        const live = await probe(['-show_streams', `${server.url}/${playbackId}.m3u8`]);
        assert.deepEqual(live.streams.map((s: { codec_name: string }) => s.codec_name).sort(), ['aac', 'h264']);

        const target = await waitFor('the simulcast target to broadcast', async () => {
          const s = await mux.video.liveStreams.retrieveSimulcastTarget(stream.id, stream.simulcast_targets![0]!.id);
          return s.status === 'broadcasting' ? s : undefined;
        });
        assert.equal(target.passthrough, 'the mirror');

        const published = await encoder.done;
        assert.equal(published.code, 0, published.stderr);

        const idle = await waitFor('the stream to go idle after its reconnect window', async () => {
          const s = await mux.video.liveStreams.retrieve(stream.id);
          return s.status === 'idle' ? s : undefined;
        }, 15_000);
        assert.equal(idle.active_asset_id, undefined);
        assert.deepEqual(idle.recent_asset_ids, [assetId]);

        const asset = await mux.video.assets.retrieve(assetId);
        assert.equal(asset.status, 'ready');
        assert.equal(asset.live_stream_id, stream.id);
        assert.equal(asset.is_live, false);
        assert.equal(asset.passthrough, 'my-show');
        assert.ok(asset.duration! > SECONDS - 1.5 && asset.duration! < SECONDS + 1.5, `duration ${asset.duration}`);
        assert.equal(asset.max_stored_resolution, 'SD', '320x240 is SD');
        assert.ok(Math.abs(asset.max_stored_frame_rate! - 30) < 1, `frame rate ${asset.max_stored_frame_rate}`);
        const listed = [];
        for await (const a of mux.video.assets.list({ live_stream_id: stream.id })) listed.push(a.id);
        assert.deepEqual(listed, [assetId]);

        // The asset's own playback id (from new_asset_settings) plays the recording as VOD.
        const assetPlaybackId = asset.playback_ids?.[0]?.id;
        assert.ok(assetPlaybackId, 'the asset got a playback id from new_asset_settings');
        const vod = await (await fetch(`${server.url}/${assetPlaybackId}.m3u8`)).text();
        assert.match(vod, /#EXT-X-ENDLIST/);
        const vodProbe = await probe(['-show_format', `${server.url}/${assetPlaybackId}.m3u8`]);
        assert.ok(Math.abs(Number(vodProbe.format.duration) - SECONDS) < 1.5, `VOD duration ${vodProbe.format.duration}`);
        assert.deepEqual(await mux.video.playbackIds.retrieve(assetPlaybackId), { id: assetPlaybackId, policy: 'public', object: { id: assetId, type: 'asset' } });

        // The relay got the whole broadcast.
        assert.equal(await receiver.finish(), 0, receiver.stderr());
        const got = inspect(receiver.file);
        assert.equal(got.videoCodec, 'h264');
        assert.ok(got.videoSeconds > SECONDS - 1.5, `the target got ${got.videoSeconds} s`);

        // Every webhook verifies with the SDK, and they came in Mux's order.
        await waitFor('the asset to be reported complete', () => hooks.received.some((h) => h.json?.type === 'video.asset.live_stream_completed'), 15_000);
        const types: string[] = [];
        for (const hook of hooks.received) {
          const event = (await mux.webhooks.unwrap(hook.body, hook.headers as Record<string, string>, secret)) as { type: string; object: { id: string }; data: { id: string } };
          types.push(event.type);
        }
        assert.ok(
          inOrder(types, [
            'video.live_stream.created',
            'video.live_stream.connected',
            'video.asset.created',
            'video.live_stream.recording',
            'video.live_stream.active',
            'video.asset.ready',
            'video.live_stream.disconnected',
            'video.live_stream.idle',
            'video.asset.live_stream_completed',
          ]),
          types.join('\n'),
        );
        assert.ok(inOrder(types, ['video.live_stream.simulcast_target.created', 'video.live_stream.simulcast_target.starting', 'video.live_stream.simulcast_target.broadcasting']), types.join('\n'));
        const activeHook = hooks.received.find((h) => h.json.type === 'video.live_stream.active')!;
        assert.equal(activeHook.json.data.status, 'active');
        assert.equal(activeHook.json.data.active_asset_id, assetId);
        assert.equal(activeHook.json.object.id, stream.id);
        // A tampered body does not verify.
        await assert.rejects(mux.webhooks.unwrap(activeHook.body.replace('active', 'idle'), activeHook.headers as Record<string, string>, secret));

        // The deliveries are logged for the endpoint.
        const deliveries: any = await (await fetch(`${server.url}/system/v1/webhooks/${endpoint.id}/deliveries?limit=100`, { headers: { authorization: `Basic ${Buffer.from(`${mux.tokenId}:${mux.tokenSecret}`).toString('base64')}` } })).json();
        assert.ok(deliveries.data.length >= types.length);
        assert.ok(deliveries.data.every((d: { response_status_code: number }) => d.response_status_code === 204));

        // Deleting the asset removes its media: its playback ids and its segments play no more.
        const segmentUrl = new URL(vod.split('\n').find((l) => l.endsWith('.ts'))!, `${server.url}/${assetPlaybackId}.m3u8`);
        assert.equal((await fetch(segmentUrl)).status, 200);
        await mux.video.assets.delete(assetId);
        assert.equal((await fetch(`${server.url}/${assetPlaybackId}.m3u8`)).status, 404);
        assert.equal((await fetch(segmentUrl)).status, 404);
        assert.equal((await fetch(`${server.url}/hls/${stream.id}/${assetId}/vod.m3u8`)).status, 404, 'not by the stream’s paths either');
        const remaining = [];
        for await (const a of mux.video.assets.list({ live_stream_id: stream.id })) remaining.push(a.id);
        assert.deepEqual(remaining, []);
        await waitFor('the asset deleted event', () => hooks.received.some((h) => h.json?.type === 'video.asset.deleted' && h.json.object.id === assetId));
      } finally {
        await receiver.kill();
        await hooks.close();
      }
    });
  });
}
