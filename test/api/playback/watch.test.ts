import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { escapeHtml } from '../../../src/api/playback/html.js';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { ffmpegMissing, tempDir } from '../../media/support.js';
import { makeHlsFiles, PLAYLIST_META, uploadLive, uploadStream, type HlsFiles } from '../../media/upload/support.js';

const HOSTILE_TITLE = `</title><script>alert("t")</script><img src=x onerror='alert(1)'>`;
const HOSTILE_DESCRIPTION = `"><script>alert(2)</script>&amp; <b>bold</b> \`tick\``;

async function get(server: TestServer, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${path}`, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

for (const kind of databaseKinds()) {
  describe(`watch page (${kind})`, { skip: ffmpegMissing }, () => {
    let server: TestServer;
    let files: HlsFiles;
    const dir = tempDir('watch');

    before(async () => {
      files = makeHlsFiles(dir.path, 3);
      server = await startTestServer(kind);
    });
    after(async () => {
      await server?.close();
      dir.remove();
    });

    const setStream = (id: string, changes: { title?: string | null; description?: string | null; is_private?: 0 | 1; deleted_at?: string | null }) =>
      server.running.store.db.updateTable('streams').set(changes).where('id', '=', id).execute();

    test('a stream not yet on air, then live, then recorded', async () => {
      const { streamId, scope } = await uploadStream(server);
      await setStream(streamId, { title: 'Morning run', description: 'Along the river' });
      let page = await get(server, `/${streamId}`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
      assert.match(page.text, /<title>Morning run<\/title>/);
      assert.match(page.text, /<h1>Morning run<\/h1>/);
      assert.match(page.text, /Along the river/);
      assert.match(page.text, /Not on air yet/);
      assert.doesNotMatch(page.text, /<video/);

      await uploadLive(server, scope, files, 0, 2);
      page = await get(server, `/${streamId}`);
      assert.match(page.text, /class="state live">Live</);
      assert.match(page.text, new RegExp(`<video id="player"[^>]* data-src="/hls/${streamId}/index\\.m3u8"`));
      assert.match(page.text, /<script src="\/assets\/hls\.min\.js" defer><\/script>/);
      assert.match(page.text, /<script src="\/assets\/watch\.js" defer><\/script>/);
      // The page runs no inline script, and says so to the browser.
      assert.doesNotMatch(page.text, /<script>/);
      const policy = page.headers.get('content-security-policy') ?? '';
      assert.match(policy, /script-src 'self'(;|$)/);
      assert.doesNotMatch(policy, /script-src[^;]*unsafe/);
      // What the page points at plays.
      assert.equal((await get(server, `/hls/${streamId}/index.m3u8`)).status, 200);

      // Upper-case ids and a trailing slash reach the same page.
      assert.equal((await get(server, `/${streamId.toUpperCase()}/`)).status, 200);

      await server.running.core.broadcasts.end(streamId);
      await server.running.uploadIngest.put(scope, 'vod.m3u8', files.vod(), PLAYLIST_META);
      page = await get(server, `/${streamId}`);
      assert.match(page.text, /class="state recorded">Recorded</);
      assert.match(page.text, new RegExp(`data-src="/hls/${streamId}/vod\\.m3u8"`));
      assert.equal((await get(server, `/hls/${streamId}/vod.m3u8`)).status, 200);
    });

    test('titles and descriptions are escaped', async () => {
      const { streamId } = await uploadStream(server);
      await setStream(streamId, { title: HOSTILE_TITLE, description: HOSTILE_DESCRIPTION });
      const page = await get(server, `/${streamId}`);
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.text, /<script>alert|<img|<b>bold|onerror='/);
      assert.ok(page.text.includes(`<title>${escapeHtml(HOSTILE_TITLE)}</title>`));
      assert.ok(page.text.includes(escapeHtml(HOSTILE_DESCRIPTION)));
      assert.ok(page.text.includes('&#60;/title&#62;&#60;script&#62;alert(&#34;t&#34;)'));
      assert.equal(escapeHtml(`<>&"'\``), '&#60;&#62;&#38;&#34;&#39;&#96;');
    });

    test('private, deleted and unknown streams give the 404 page', async () => {
      const hidden = await uploadStream(server);
      await setStream(hidden.streamId, { title: 'secret title', is_private: 1 });
      const gone = await uploadStream(server);
      await setStream(gone.streamId, { title: 'gone title', deleted_at: new Date().toISOString() });
      for (const id of [hidden.streamId, gone.streamId, '00000000-0000-4000-8000-000000000000']) {
        const page = await get(server, `/${id}`);
        assert.equal(page.status, 404, id);
        assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
        assert.match(page.text, /Stream not found/);
        assert.doesNotMatch(page.text, /secret title|gone title/);
      }
    });

    test('other root paths still reach the root 404 as before', async () => {
      const reference = await get(server, '/certainly/not/here');
      assert.equal(reference.status, 404);
      for (const path of ['/not-a-uuid', '/00000000-0000-4000-8000-00000000000', '/00000000-0000-4000-8000-000000000000x', '/assets/other.js']) {
        const reply = await get(server, path);
        assert.equal(reply.status, 404, path);
        assert.equal(reply.headers.get('content-type'), reference.headers.get('content-type'), path);
        assert.doesNotMatch(reply.text, /Stream not found/, path);
      }
    });

    test('hls.js is served from the installed package, with caching headers', async () => {
      const installed = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));
      const asset = await fetch(`${server.url}/assets/hls.min.js`);
      assert.equal(asset.status, 200);
      assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.match(asset.headers.get('cache-control') ?? '', /max-age=\d+/);
      const etag = asset.headers.get('etag');
      assert.ok(etag);
      assert.deepEqual(Buffer.from(await asset.arrayBuffer()), installed);
      const again = await fetch(`${server.url}/assets/hls.min.js`, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
      assert.equal((await again.arrayBuffer()).byteLength, 0);

      const player = await get(server, '/assets/watch.js');
      assert.equal(player.status, 200);
      assert.match(player.text, /canPlayType\('application\/vnd\.apple\.mpegurl'\)/);
      assert.match(player.text, /Hls\.isSupported\(\)/);
    });
  });
}
