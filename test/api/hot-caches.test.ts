/**
 * The hot reads are answered from caches (relay plans, verified live API credentials, accounts,
 * verified JWTs): each change that alters an answer must show on the very next read, whichever
 * way it was made: through an API, through the core, by another process writing the database
 * (the CLI), or by another node (its event arriving on the bus). Every read here follows a read
 * that filled the cache, so a stale cache would answer the old value.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../helpers/databases.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { Store } from '../../src/store/store.js';
import type { AccountId, DestinationId, StreamId } from '../../src/core/kernel/ids.js';
import { addDestination, assertRigError, newStream, newUser, PASSWORD, type User } from './rig/support.js';
import { call, newClient, newDevice, ok, startStream } from './kickflip/support.js';

for (const kind of databaseKinds()) {
  describe(`caches of hot reads on ${kind}`, () => {
    let server: TestServer;
    /** Another connection to the same database: what the CLI, or another node, writes with. */
    let other: Store;

    before(async () => {
      server = await startTestServer(kind);
      other = Store.open(server.running.config.database);
    });
    after(async () => {
      await other.close();
      await server.close();
    });

    /**
     * A commit of another process reaches this one through I/O, so in a later turn of its event
     * loop (the store reads SQLite's data version once per turn); `other` writes in this one.
     */
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    const config = (key: string) => server.request('GET', `/agents/config/${key}`);
    const destinationsOf = async (key: string) => {
      const r = await config(key);
      assert.equal(r.status, 200, r.text);
      return r.json.payload as { id: number; service: string; isActive: boolean }[];
    };
    const scopeOf = (user: User) => ({ accountId: user.id as AccountId, all: false });
    /** The destination's id in the core, from its rig number. */
    const destinationId = async (streamId: string, number: number) =>
      (await server.running.core.streams.destinationsOf(streamId as StreamId)).find((d) => d.number === number)!.id;

    describe('rig agent config', () => {
      it('a reset key: the old one opens nothing, the new one opens the stream', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
        const changed = await server.request('POST', `/streams/${stream.id}/changeKey`, { token: user.token });
        assert.equal(changed.status, 200, changed.text);
        assertRigError(await config(stream.streamKey), 400, 1008, { message: 'Invalid stream key' });
        assert.deepEqual(await destinationsOf(changed.json.payload.key), []);
      });

      it('a destination added, switched off, switched on and removed', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
        const added = await addDestination(server, user, stream.id, 'YouTube', 'abcd-efgh-ijkl-mnop-qrst');
        assert.deepEqual((await destinationsOf(stream.streamKey)).map((d) => [d.id, d.isActive]), [[added.id, true]]);
        const id = await destinationId(stream.id, added.id);
        await server.running.core.streams.setDestinationEnabled(user.id as AccountId, id, false);
        assert.deepEqual((await destinationsOf(stream.streamKey)).map((d) => [d.id, d.isActive]), [[added.id, false]]);
        await server.running.core.streams.setDestinationEnabled(user.id as AccountId, id, true);
        assert.deepEqual((await destinationsOf(stream.streamKey)).map((d) => [d.id, d.isActive]), [[added.id, true]]);
        await server.running.core.streams.removeDestination(user.id as AccountId, id);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
      });

      it('a stream disabled, enabled again, then deleted', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
        await server.running.core.liveStreams.disable(scopeOf(user), stream.id);
        assertRigError(await config(stream.streamKey), 400, 1008, { message: 'Stream is not active' });
        await server.running.core.liveStreams.enable(scopeOf(user), stream.id);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
        await server.running.core.liveStreams.delete(scopeOf(user), stream.id);
        assertRigError(await config(stream.streamKey), 400, 1008, { message: 'Invalid stream key' });
      });

      it('a broadcast started and ended', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
        await server.running.core.broadcasts.start(stream.id as StreamId);
        assertRigError(await config(stream.streamKey), 409, 1009, { message: 'Stream is already live' });
        await server.running.core.broadcasts.end(stream.id as StreamId);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
      });

      it('a change another node made: its event on the bus empties the cache', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        const added = await addDestination(server, user, stream.id, 'Twitch', 'live_123456789_AbCdEfGhIjKlMnOpQrStUvWxYz0123');
        assert.equal((await destinationsOf(stream.streamKey)).length, 1);
        const id = await destinationId(stream.id, added.id);
        // The other node writes with its own connection, then publishes its event.
        await other.destinations.delete(id);
        await server.running.core.events.publish({ type: 'destination.removed', streamId: stream.id as StreamId, destinationId: id as DestinationId });
        // Heard on a later tick, as from Redis.
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
      });

      if (kind === 'sqlite') {
        it('a write of another process (no event reaches this one): seen on the next read', async () => {
          const user = await newUser(server);
          const stream = await newStream(server, user);
          const added = await addDestination(server, user, stream.id, 'YouTube', 'abcd-efgh-ijkl-mnop-qrst');
          assert.equal((await destinationsOf(stream.streamKey)).length, 1);
          await other.destinations.setEnabled(await destinationId(stream.id, added.id), false);
          await nextTurn();
          assert.deepEqual((await destinationsOf(stream.streamKey)).map((d) => d.isActive), [false]);
        });
      }
    });

    describe('rig JWT', () => {
      it('a password change refuses the tokens issued before it on the next request', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        assert.equal((await server.request('GET', `/streams/${stream.id}`, { token: user.token })).status, 200);
        const changed = await server.request('POST', '/accounts/password', { token: user.token, body: { OldPassword: PASSWORD, NewPassword: `${PASSWORD}-new` } });
        assert.equal(changed.status, 200, changed.text);
        assertRigError(await server.request('GET', `/streams/${stream.id}`, { token: user.token }), 401, 1003);
      });
    });

    describe('live API access tokens', () => {
      const liveStreamsWith = (authorization: string) => server.request('GET', '/video/v1/live-streams', { headers: { authorization } });
      const newToken = async (user: User) => {
        const issued = await server.running.core.liveApiTokens.create(user.id as AccountId);
        return { id: issued.id, authorization: `Basic ${Buffer.from(`${issued.id}:${issued.secret}`).toString('base64')}` };
      };

      it('a token revoked through the core is refused on the very next request', async () => {
        const token = await newToken(await newUser(server));
        assert.equal((await liveStreamsWith(token.authorization)).status, 200);
        await server.running.core.liveApiTokens.revoke(token.id);
        assert.equal((await liveStreamsWith(token.authorization)).status, 401);
      });

      it('a token revoked through the dashboard is refused on the very next request', async () => {
        const user = await newUser(server);
        const token = await newToken(user);
        const again = await newToken(user);
        assert.equal((await liveStreamsWith(token.authorization)).status, 200);
        await server.running.core.liveApiTokens.revokeIn(scopeOf(user), token.id);
        assert.equal((await liveStreamsWith(token.authorization)).status, 401);
        // Only the revoked one: the account's other token still works.
        assert.equal((await liveStreamsWith(again.authorization)).status, 200);
      });

      it('the right id with a wrong secret is refused, however often the right one was accepted', async () => {
        const token = await newToken(await newUser(server));
        assert.equal((await liveStreamsWith(token.authorization)).status, 200);
        const wrong = `Basic ${Buffer.from(`${token.id}:not-the-secret`).toString('base64')}`;
        assert.equal((await liveStreamsWith(wrong)).status, 401);
      });

      it('a token another node revoked: refused once its event arrives', async () => {
        const user = await newUser(server);
        const token = await newToken(user);
        assert.equal((await liveStreamsWith(token.authorization)).status, 200);
        await other.accessTokens.revoke(token.id, new Date().toISOString());
        await server.running.core.events.publish({ type: 'access_token.revoked', accountId: user.id as AccountId });
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal((await liveStreamsWith(token.authorization)).status, 401);
      });

      if (kind === 'sqlite') {
        it('a token revoked by another process (the CLI) is refused on the very next request', async () => {
          const token = await newToken(await newUser(server));
          assert.equal((await liveStreamsWith(token.authorization)).status, 200);
          await other.accessTokens.revoke(token.id, new Date().toISOString());
          await nextTurn();
          assert.equal((await liveStreamsWith(token.authorization)).status, 401);
        });
      }
    });
    describe('stream detail (rig) and live stream (Mux)', () => {
      /** The rig user's stream, readable through both APIs (a rig stream is a live stream too). */
      const both = async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        const issued = await server.running.core.liveApiTokens.create(user.id as AccountId);
        const basic = `Basic ${Buffer.from(`${issued.id}:${issued.secret}`).toString('base64')}`;
        const rig = async () => {
          const r = await server.request('GET', `/streams/${stream.id}`, { token: user.token });
          assert.equal(r.status, 200, r.text);
          return r.json.payload as { streamKey: string; isStreaming: boolean; isActive: boolean; destinations: { id: number; isActive: boolean; status: { state: string } }[] };
        };
        const mux = async () => {
          const r = await server.request('GET', `/video/v1/live-streams/${stream.id}`, { headers: { authorization: basic } });
          assert.equal(r.status, 200, r.text);
          return r.json.data as Record<string, any>;
        };
        // Each test's first reads fill both caches.
        await rig();
        await mux();
        return { user, stream, streamId: stream.id as StreamId, rig, mux, basic };
      };
      const segment = (sequence: number) => ({ sequence, duration: 2, discontinuity: false, blobKey: `cache-test/${sequence}.ts`, size: 1000 });

      it('a title, settings and a new key (Mux), and a new key (rig)', async () => {
        const s = await both();
        await server.running.core.liveStreams.update(scopeOf(s.user), s.stream.id, { title: 'Now titled', reconnectWindow: 30 });
        assert.deepEqual((await s.mux()).meta, { title: 'Now titled' });
        assert.equal((await s.mux()).reconnect_window, 30);
        const reset = await server.request('POST', `/video/v1/live-streams/${s.stream.id}/reset-stream-key`, { headers: { authorization: s.basic } });
        assert.equal(reset.status, 201, reset.text);
        assert.equal((await s.mux()).stream_key, reset.json.data.stream_key);
        assert.equal((await s.rig()).streamKey, reset.json.data.stream_key);
        const changed = await server.request('POST', `/streams/${s.stream.id}/changeKey`, { token: s.user.token });
        assert.equal((await s.rig()).streamKey, changed.json.payload.key);
        assert.equal((await s.mux()).stream_key, changed.json.payload.key);
      });

      it('disabled, enabled, deleted', async () => {
        const s = await both();
        await server.running.core.liveStreams.disable(scopeOf(s.user), s.stream.id);
        assert.equal((await s.rig()).isActive, false);
        assert.equal((await s.mux()).status, 'disabled');
        await server.running.core.liveStreams.enable(scopeOf(s.user), s.stream.id);
        assert.equal((await s.rig()).isActive, true);
        assert.equal((await s.mux()).status, 'idle');
        await server.running.core.liveStreams.delete(scopeOf(s.user), s.stream.id);
        assertRigError(await server.request('GET', `/streams/${s.stream.id}`, { token: s.user.token }), 400, 1005);
        assert.equal((await server.request('GET', `/video/v1/live-streams/${s.stream.id}`, { headers: { authorization: s.basic } })).status, 404);
      });

      it('playback ids added and removed', async () => {
        const s = await both();
        const added = await server.running.core.liveStreams.addPlaybackId(scopeOf(s.user), s.stream.id, 'public');
        assert.deepEqual((await s.mux()).playback_ids.map((p: { id: string }) => p.id), [added.id]);
        await server.running.core.liveStreams.removePlaybackId(scopeOf(s.user), s.stream.id, added.id);
        assert.deepEqual((await s.mux()).playback_ids, []);
      });

      it('publish started, first segment, publisher gone, broadcast ended, recording deleted', async () => {
        const s = await both();
        const started = await server.running.core.broadcasts.beginPublish(s.stream.streamKey, 'cache-test-node');
        const broadcastId = started.broadcast.id;
        assert.equal((await s.rig()).isStreaming, true);
        let live = await s.mux();
        assert.equal(live.status, 'idle', 'live but nothing to play yet');
        assert.equal(live.active_asset_id, broadcastId);
        assert.equal(live.active_ingest_protocol, 'rtmp');
        // The first segment makes it active; later ones change nothing shown.
        await server.running.core.broadcasts.recordSegment(broadcastId, segment(0));
        assert.equal((await s.mux()).status, 'active');
        await server.running.core.broadcasts.recordSegment(broadcastId, segment(1));
        assert.equal((await s.mux()).status, 'active');
        await server.running.core.broadcasts.endPublish(broadcastId);
        live = await s.mux();
        assert.equal(live.active_ingest_protocol, undefined, 'no publisher during the reconnect window');
        assert.equal(live.active_asset_id, broadcastId);
        await server.running.core.broadcasts.endIfIdle(broadcastId);
        assert.equal((await s.rig()).isStreaming, false);
        live = await s.mux();
        assert.equal(live.status, 'idle');
        assert.equal(live.active_asset_id, undefined);
        assert.deepEqual(live.recent_asset_ids, [broadcastId]);
        await server.running.core.recordings.delete(scopeOf(s.user), broadcastId);
        assert.deepEqual((await s.mux()).recent_asset_ids, []);
      });

      it('a broadcast started and ended without a publisher (segment uploads)', async () => {
        const s = await both();
        const broadcast = await server.running.core.broadcasts.start(s.streamId);
        assert.equal((await s.rig()).isStreaming, true);
        assert.equal((await s.mux()).active_asset_id, broadcast.id);
        await server.running.core.broadcasts.end(s.streamId);
        assert.equal((await s.rig()).isStreaming, false);
        assert.deepEqual((await s.mux()).recent_asset_ids, [broadcast.id]);
      });

      it('destinations added, switched off and removed; their relay states as they are now', async () => {
        const s = await both();
        const added = await addDestination(server, s.user, s.stream.id, 'YouTube', 'abcd-efgh-ijkl-mnop-qrst');
        assert.deepEqual((await s.rig()).destinations.map((d) => [d.id, d.isActive]), [[added.id, true]]);
        assert.equal((await s.mux()).simulcast_targets.length, 1);
        const id = await destinationId(s.stream.id, added.id);
        await server.running.core.streams.setDestinationEnabled(s.user.id as AccountId, id, false);
        assert.deepEqual((await s.rig()).destinations.map((d) => d.isActive), [false]);
        // A relay's state comes from the media plane on every read.
        await server.running.core.relays.report({ destinationId: id, streamId: s.streamId, state: 'error', lastError: 'refused', bytesSent: 0, reconnects: 0, since: new Date().toISOString() });
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal((await s.rig()).destinations[0]!.status.state, 'error');
        assert.equal((await s.mux()).simulcast_targets[0].status, 'errored');
        await server.running.core.streams.removeDestination(s.user.id as AccountId, id);
        assert.deepEqual((await s.rig()).destinations, []);
        assert.deepEqual((await s.mux()).simulcast_targets, []);
        const target = await server.running.core.liveStreams.addTarget(scopeOf(s.user), s.stream.id, { url: 'rtmps://live.example.com:443/app', streamKey: 'abc' });
        assert.deepEqual((await s.mux()).simulcast_targets.map((t: { id: string }) => t.id), [target.id]);
        assert.equal((await s.rig()).destinations.length, 1);
        await server.running.core.liveStreams.setTargetEnabled(scopeOf(s.user), s.stream.id, target.id, false);
        assert.deepEqual((await s.rig()).destinations.map((d) => d.isActive), [false]);
        await server.running.core.liveStreams.removeTarget(scopeOf(s.user), s.stream.id, target.id);
        assert.deepEqual((await s.mux()).simulcast_targets, []);
        assert.deepEqual((await s.rig()).destinations, []);
      });

      it("another account's token gets nothing, however often the owner read it", async () => {
        const s = await both();
        const stranger = await newUser(server);
        assertRigError(await server.request('GET', `/streams/${s.stream.id}`, { token: stranger.token }), 400, 1005);
        const issued = await server.running.core.liveApiTokens.create(stranger.id as AccountId);
        const strangerBasic = `Basic ${Buffer.from(`${issued.id}:${issued.secret}`).toString('base64')}`;
        assert.equal((await server.request('GET', `/video/v1/live-streams/${s.stream.id}`, { headers: { authorization: strangerBasic } })).status, 404);
        // Found by the id in capitals too, and still the owner's only.
        assert.equal((await server.request('GET', `/video/v1/live-streams/${s.stream.id.toUpperCase()}`, { headers: { authorization: strangerBasic } })).status, 404);
        assert.equal((await server.request('GET', `/video/v1/live-streams/${s.stream.id.toUpperCase()}`, { headers: { authorization: s.basic } })).status, 200);
      });

      it('a Multistreamer title change shows in the live API', async () => {
        const owner = await server.running.core.accounts.create({ username: `mscache${process.pid}x${Date.now() % 100000}`, password: 'correct horse battery' });
        const view = await server.running.core.multistreams.create(owner.id, { name: 'Cache test', accounts: [] });
        const issued = await server.running.core.liveApiTokens.create(owner.id);
        const basic = `Basic ${Buffer.from(`${issued.id}:${issued.secret}`).toString('base64')}`;
        const mux = async () => (await server.request('GET', `/video/v1/live-streams/${view.streamId}`, { headers: { authorization: basic } })).json.data;
        assert.deepEqual((await mux()).meta, {});
        await server.running.core.multistreams.update(owner.id, view.id, { title: 'Multistreamer title' });
        assert.deepEqual((await mux()).meta, { title: 'Multistreamer title' });
      });

      it('a Kickflip title change and privacy change show in the other APIs', async () => {
        const device = await newDevice(server, await newClient(server));
        const made = await startStream(server, device);
        const ownerId = (await server.running.core.liveStreams.describe(made.stream_id))!.ownerId;
        const issued = await server.running.core.liveApiTokens.create(ownerId);
        const basic = `Basic ${Buffer.from(`${issued.id}:${issued.secret}`).toString('base64')}`;
        const mux = async () => (await server.request('GET', `/video/v1/live-streams/${made.stream_id}`, { headers: { authorization: basic } })).json.data;
        assert.deepEqual((await mux()).meta, {});
        assert.equal((await server.running.core.streams.getOwned(ownerId, made.stream_id)).isPrivate, false);
        ok(await call(server, device.token, 'stream/change', { stream_id: made.stream_id, uuid: device.user.uuid, title: 'Kickflip title', private: true }));
        assert.deepEqual((await mux()).meta, { title: 'Kickflip title' });
        assert.equal((await server.running.core.streams.getOwned(ownerId, made.stream_id)).isPrivate, true);
      });

      it('a change another node made: its event on the bus empties the views', async () => {
        const s = await both();
        const added = await addDestination(server, s.user, s.stream.id, 'YouTube', 'abcd-efgh-ijkl-mnop-qrst');
        assert.equal((await s.rig()).destinations.length, 1);
        assert.equal((await s.mux()).simulcast_targets.length, 1);
        const id = await destinationId(s.stream.id, added.id);
        await other.destinations.delete(id);
        await server.running.core.events.publish({ type: 'destination.removed', streamId: s.streamId, destinationId: id as DestinationId });
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual((await s.rig()).destinations, []);
        assert.deepEqual((await s.mux()).simulcast_targets, []);
      });

      if (kind === 'sqlite') {
        it('a write of another process (no event reaches this one): seen on the next read', async () => {
          const s = await both();
          await other.streams.setEnabled(s.stream.id, false, new Date().toISOString());
          await nextTurn();
          assert.equal((await s.rig()).isActive, false);
          assert.equal((await s.mux()).status, 'disabled');
        });
      }
    });
  });
}
