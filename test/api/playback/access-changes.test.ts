/**
 * Who may watch is kept in memory between HLS requests (a public stream's playlist and segment
 * requests ask the database nothing), and a change is seen by the very next request: a stream
 * made private, a stream whose last public playback id is removed, a playback id deleted, and
 * back. A segment request tells the answer apart without any media: a public stream's missing
 * segment is 404, a private stream's request without a token is 403 before any segment is looked
 * for.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { muxAccount } from '../mux/support.js';
import { createSession, newSite, streamIdOf } from '../streamapi/support.js';

async function status(server: TestServer, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${server.url}${path}`);
  return { status: response.status, body: await response.text() };
}

for (const kind of databaseKinds()) {
  describe(`HLS access follows changes at once (${kind})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(() => server.close());

    test('a StreamAPI session made private refuses the next request without a token, and made public again plays', async () => {
      const site = await newSite(server, 'access-changes');
      const created = await createSession(server, site, { site_user_id: '31337', is_video_private: 'false' });
      const streamId = await streamIdOf(server, site, created.publicHostId);
      const segment = `/hls/${streamId}/${randomUUID()}/seg-00000.ts`;
      // Asked twice, so that the second answer is the kept one.
      assert.equal((await status(server, segment)).status, 404);
      assert.equal((await status(server, segment)).status, 404);

      await createSession(server, site, { site_user_id: '31337', is_video_private: 'true' });
      assert.equal((await status(server, segment)).status, 403, 'private from the very next request');
      assert.equal((await status(server, `${segment}?token=forged.token.value`)).status, 403, 'a forged token is refused');
      const token = await server.running.core.viewing.mintToken(streamId);
      assert.equal((await status(server, `${segment}?token=${encodeURIComponent(token!)}`)).status, 404, "the site's viewer token passes (the segment does not exist)");
      const expired = await server.running.core.viewing.mintToken(streamId, -1000);
      assert.equal((await status(server, `${segment}?token=${encodeURIComponent(expired!)}`)).status, 403, 'an expired token is refused');

      await createSession(server, site, { site_user_id: '31337', is_video_private: 'false' });
      assert.equal((await status(server, segment)).status, 404, 'public again from the very next request');
    });

    test("a live stream whose only public playback id is removed is private at both paths, and a deleted playback id plays nothing", async () => {
      const { mux } = await muxAccount(server);
      const stream = await mux.video.liveStreams.create({ playback_policy: ['public'] });
      const publicId = stream.playback_ids![0]!.id;
      const broadcast = randomUUID();
      const byStream = `/hls/${stream.id}/${broadcast}/seg-00000.ts`;
      const byPlaybackId = `/${publicId}/${broadcast}/seg-00000.ts`;
      for (let i = 0; i < 2; i++) {
        assert.equal((await status(server, byStream)).status, 404);
        const answer = await status(server, byPlaybackId);
        assert.equal(answer.status, 404);
        assert.match(answer.body, /No such segment/);
      }

      // A signed id added, then the public one removed: the stream plays by signed ids only.
      const signed = await mux.video.liveStreams.createPlaybackId(stream.id, { policy: 'signed' });
      assert.equal((await status(server, byStream)).status, 404, 'still public while a public id remains');
      await mux.video.liveStreams.deletePlaybackId(stream.id, publicId);
      assert.equal((await status(server, byStream)).status, 403, 'private from the very next request');
      const gone = await status(server, byPlaybackId);
      assert.equal(gone.status, 404);
      assert.match(gone.body, /No such playback id/, 'the deleted playback id plays nothing from the very next request');
      assert.equal((await status(server, `/${signed.id}/${broadcast}/seg-00000.ts`)).status, 403, 'the signed id needs its token');

      const again = await mux.video.liveStreams.createPlaybackId(stream.id, { policy: 'public' });
      assert.equal((await status(server, byStream)).status, 404, 'public again from the very next request');
      assert.equal((await status(server, `/${again.id}/${broadcast}/seg-00000.ts`)).status, 404);
      await mux.video.liveStreams.delete(stream.id);
      assert.equal((await status(server, byStream)).status, 403, 'a deleted stream plays nothing');
      assert.match((await status(server, `/${again.id}/${broadcast}/seg-00000.ts`)).body, /No such playback id/);
    });
  });
}
