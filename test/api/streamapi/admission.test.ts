/**
 * The attack: anonymous requests with `?key=` on a private StreamAPI session's HLS, each of which
 * makes the server ask the site (`action=login`). Repeating a refused key, or sending many keys at
 * once, must not turn into as many calls to the site: refusals and admissions are remembered for
 * a while, and calls in flight are capped per stream and per address (the rest are told to come
 * back shortly: 503 with Retry-After). An admitted viewer still plays, and nothing is stored.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { StreamId } from '../../../src/core/kernel/ids.js';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { createSession, newSite, sleep, streamIdOf } from './support.js';

/** A site whose login callback takes `delayMs` to answer, admits `friend` only, and counts calls. */
async function slowSite(delayMs: number): Promise<{ url: string; logins: string[]; maxInFlight: () => number; close: () => Promise<void> }> {
  const logins: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const params = new URLSearchParams(body);
      if (params.get('action') !== 'login') return void response.end('<response><code>0</code></response>');
      logins.push(params.get('key') ?? '');
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        const code = params.get('key') === 'friend' ? 0 : -1;
        response.writeHead(200, { 'content-type': 'text/xml' }).end(`<response><code>${code}</code></response>`);
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/login`,
    logins,
    maxInFlight: () => maxInFlight,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

for (const kind of databaseKinds()) {
  describe(`StreamAPI viewer admission cannot be used to flood the site (${kind})`, () => {
    let server: TestServer;
    let site: Awaited<ReturnType<typeof slowSite>>;
    let playlist: string;

    before(async () => {
      site = await slowSite(600);
      // The site's callback listens on loopback in this test.
      server = await startTestServer(kind, { allowPrivateFetch: '1', admissionRefusalTtl: '2', admissionMaxPerIp: '3' });
      const credentials = await newSite(server, 'flooded', site.url);
      const session = await createSession(server, credentials, { is_video_private: 'true', username: 'backstage' });
      const streamId = (await streamIdOf(server, credentials, session.publicHostId)) as StreamId;
      const broadcast = await server.running.core.broadcasts.start(streamId);
      await server.running.core.broadcasts.recordSegment(broadcast.id, { sequence: 0, duration: 2, discontinuity: false, blobKey: 'x', size: 10 });
      playlist = `${server.url}/hls/${streamId}/${broadcast.id}/vod.m3u8`;
    });
    after(async () => {
      await server?.close();
      await site?.close();
    });

    it('asks the site once about a refused key repeated, and again only after the refusal expired', async () => {
      const before = await server.snapshot();
      for (let i = 0; i < 25; i++) {
        const r = await fetch(`${playlist}?key=intruder`);
        assert.equal(r.status, 403);
        await r.arrayBuffer();
      }
      assert.deepEqual(site.logins, ['intruder'], 'one call for 25 requests');
      await sleep(2100);
      assert.equal((await fetch(`${playlist}?key=intruder`)).status, 403);
      assert.deepEqual(site.logins, ['intruder', 'intruder'], 'asked again once the refusal expired');
      assert.equal(await server.snapshot(), before, 'nothing stored');
    });

    it('keeps at most --admission-max-per-ip calls in flight for a burst of different keys; the rest are told to retry', async () => {
      const start = site.logins.length;
      const replies = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const r = await fetch(`${playlist}?key=guess${i}`);
          await r.arrayBuffer();
          return { status: r.status, retryAfter: r.headers.get('retry-after') };
        }),
      );
      assert.ok(site.maxInFlight() <= 3, `${site.maxInFlight()} calls to the site at once`);
      assert.ok(site.logins.length - start <= 30);
      const busy = replies.filter((r) => r.status === 503);
      assert.ok(busy.length > 0, 'a burst beyond the cap is told to come back');
      for (const r of busy) assert.equal(r.retryAfter, '1');
      assert.deepEqual([...new Set(replies.map((r) => r.status))].filter((s) => s !== 403 && s !== 503), []);
    });

    it('admits a viewer the site admits, asking once for a player polling the playlist', async () => {
      const start = site.logins.length;
      for (let i = 0; i < 10; i++) {
        const r = await fetch(`${playlist}?key=friend`);
        assert.equal(r.status, 200);
        assert.match(await r.text(), /seg-00000\.ts\?token=/);
      }
      assert.deepEqual(site.logins.slice(start), ['friend']);
    });
  });
}
