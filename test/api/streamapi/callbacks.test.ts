/**
 * StreamAPI callbacks to a site: start_live when a session goes live, end_live (duration in
 * minutes, viewers, max_viewers) and end_record (duration in seconds, url, filename) when it
 * ends, POSTed to the site's callback URL as forms, and retried when the site fails.
 *
 * Broadcasts are opened and ended through the core (no encoder), so these run on every database;
 * media.test.ts checks the same callbacks with a real encoder.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamId } from '../../../src/core/kernel/ids.js';
import { databaseKinds } from '../../helpers/databases.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import {
  assertOk,
  call,
  createSession,
  descendants,
  leafFields,
  newSite,
  sleep,
  startCallbackServer,
  streamIdOf,
  type CallbackServer,
  type SiteCredentials,
} from './support.js';

const PUBLIC_URL = 'http://media.example.test';

for (const kind of databaseKinds()) {
  describe(`StreamAPI callbacks on ${kind}`, () => {
    let server: TestServer;
    let callbacks: CallbackServer;
    let site: SiteCredentials & { id: string };
    before(async () => {
      callbacks = await startCallbackServer();
      server = await startTestServer(kind, { ...LOCAL_PEERS, publicUrl: PUBLIC_URL });
      site = await newSite(server, 'with callbacks', callbacks.url);
    });
    after(async () => {
      await server.close();
      await callbacks.close();
    });

    const forHost = (host: string) => (c: { params: Record<string, string> }) => c.params.public_hostid === host;

    it('start_live when a session goes live; end_live (minutes) and end_record (seconds, url, filename) when it ends', async () => {
      const session = await createSession(server, site, { username: 'caster' });
      const streamId = (await streamIdOf(server, site, session.publicHostId)) as StreamId;
      const core = server.running.core;
      const live = await core.broadcasts.start(streamId);

      const started = await callbacks.waitFor('start_live', forHost(session.publicHostId));
      assert.deepEqual(started.params, { action: 'start_live', public_hostid: session.publicHostId });
      assert.match(started.contentType, /^application\/x-www-form-urlencoded\b/);

      // 7.4 s of recording; the broadcast itself is made to have started 185 s ago, so its
      // duration is 3 minutes (rounded) while the recording's is 7 seconds.
      await core.broadcasts.recordSegment(live.id, { sequence: 0, duration: 4.0, discontinuity: false, blobKey: 'a', size: 1000 });
      await core.broadcasts.recordSegment(live.id, { sequence: 1, duration: 3.4, discontinuity: false, blobKey: 'b', size: 800 });
      await server.running.store.db
        .updateTable('broadcasts')
        .set({ started_at: new Date(Date.now() - 185_000).toISOString() })
        .where('id', '=', live.id)
        .execute();
      await core.broadcasts.end(streamId);

      const ended = await callbacks.waitFor('end_live', forHost(session.publicHostId));
      assert.deepEqual(ended.params, {
        action: 'end_live',
        public_hostid: session.publicHostId,
        channel_id: live.id,
        duration: '3',
        viewers: '0',
        max_viewers: '0',
      });
      assert.match(ended.contentType, /^application\/x-www-form-urlencoded\b/);

      const recorded = await callbacks.waitFor('end_record', forHost(session.publicHostId));
      assert.deepEqual(Object.keys(recorded.params).sort(), ['action', 'duration', 'filename', 'public_hostid', 'url']);
      assert.equal(recorded.params.action, 'end_record');
      assert.equal(recorded.params.duration, '7');
      assert.equal(recorded.params.url, `${PUBLIC_URL}/hls/${streamId}/${live.id}/vod.m3u8`);
      assert.ok(recorded.params.url!.endsWith(`/${recorded.params.filename}`), `filename ${recorded.params.filename}`);

      // The same recording in video/list.
      const videos = descendants(assertOk(await call(server, site, '/video/list', { public_hostid: session.publicHostId })), 'video');
      assert.equal(videos.length, 1);
      const video = leafFields(videos[0]!);
      assert.equal(video.url, recorded.params.url);
      assert.equal(video.filename, recorded.params.filename);
      assert.equal(video.channel_id, ended.params.channel_id);

      // Each callback once.
      await sleep(300);
      for (const action of ['start_live', 'end_live', 'end_record']) {
        assert.equal(callbacks.received.filter((c) => c.action === action && forHost(session.publicHostId)(c)).length, 1, action);
      }
    });

    it('a broadcast with nothing recorded gets end_live but no end_record', async () => {
      const session = await createSession(server, site);
      const streamId = (await streamIdOf(server, site, session.publicHostId)) as StreamId;
      await server.running.core.broadcasts.start(streamId);
      await callbacks.waitFor('start_live', forHost(session.publicHostId));
      await server.running.core.broadcasts.end(streamId);
      const ended = await callbacks.waitFor('end_live', forHost(session.publicHostId));
      assert.equal(ended.params.duration, '0');
      await sleep(1500);
      assert.equal(callbacks.received.filter((c) => c.action === 'end_record' && forHost(session.publicHostId)(c)).length, 0);
    });

    it('a callback the site fails (HTTP 500) is delivered again about 2 s later', async () => {
      const session = await createSession(server, site);
      const streamId = (await streamIdOf(server, site, session.publicHostId)) as StreamId;
      callbacks.failNext('start_live');
      await server.running.core.broadcasts.start(streamId);
      const delivered = await callbacks.waitFor('start_live', forHost(session.publicHostId), 10_000);
      const attempts = callbacks.received.filter((c) => c.action === 'start_live' && forHost(session.publicHostId)(c));
      assert.deepEqual(attempts.map((a) => a.answered), [500, 200]);
      assert.deepEqual(attempts[0]!.params, attempts[1]!.params, 'the retry carries the same form');
      const gap = delivered.at - attempts[0]!.at;
      assert.ok(gap >= 1900 && gap <= 5000, `retried ${gap} ms after the failure; the first retry waits 2 s`);
      await server.running.core.broadcasts.end(streamId);
      await callbacks.waitFor('end_live', forHost(session.publicHostId));
    });

    it("a revoked site's sessions call nobody", async () => {
      const revoked = await newSite(server, 'revoked with callbacks', callbacks.url);
      const session = await createSession(server, revoked);
      const streamId = (await streamIdOf(server, revoked, session.publicHostId)) as StreamId;
      await server.running.core.sites.revoke(revoked.key);
      await server.running.core.broadcasts.start(streamId);
      await server.running.core.broadcasts.end(streamId);
      await sleep(1500);
      assert.deepEqual(callbacks.received.filter(forHost(session.publicHostId)), []);
    });
  });
}
