/**
 * The puller: ffmpeg reading `ffmpeg_pull_args` publishes into our own ingest as an encoder
 * would, so the stream goes live and records; setPulling(false) and a server shutdown kill it;
 * a source that ends switches pulling off; a failing one is retried, then given up, and what
 * ffmpeg said is kept, without URL credentials or queries. And the confinement, proved with
 * the real ffmpeg: local files only from `--pull-file-dir`, checked again before every start;
 * the inserted `-protocol_whitelist` stops a remote HLS playlist from reading a `file:`
 * segment; private hosts only with `--allow-private-fetch`.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { NETWORK_PROTOCOLS } from '../../../src/core/ffmpeg/pull-args.js';
import { assertError, ms, msUser, newStream } from '../../api/multistreamer/support.js';
import { msStream } from '../../helpers/go-live.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { run } from '../e2e/support.js';
import { alive, ffmpeg, ffmpegMissing, makeFlv, tempDir } from '../support.js';
import { sleep, waitFor } from '../relay/support.js';

describe('pullers', { skip: ffmpegMissing }, () => {
  const dir = tempDir('pull');
  let source: string;
  let server: TestServer;

  before(() => {
    source = join(dir.path, 'source file.flv');
    makeFlv(source, 'av', 4);
  });
  after(async () => {
    await server?.close();
    dir.remove();
  });

  test('a puller publishes a file: the stream goes live and records; stop kills ffmpeg', async () => {
    server = await startTestServer('sqlite', { reconnectWindow: '0', pullFileDir: dir.path });
    const core = server.running.core;
    // -stream_loop keeps it going until it is stopped.
    const f = await msStream(server, { pullArgs: `-re -stream_loop -1 -i '${source}' -c copy` });
    const status = await core.goLive.setPulling(f.streamId, true);
    assert.equal(status.dataPulling, true);
    await waitFor('the pulled stream to be incoming', async () => (await core.goLive.status(f.streamId)).dataIncoming, 15_000);
    const puller = server.running.pullers.get(f.streamId);
    assert.ok(puller?.running, 'this node runs the puller');
    await waitFor('a recorded segment', async () => {
      const broadcast = await core.broadcasts.latest(f.streamId);
      return broadcast && (await core.broadcasts.recording(broadcast)).segments.length > 0;
    }, 15_000);
    const live = await server.request('GET', `/hls/${f.streamId}/index.m3u8`);
    assert.equal(live.status, 200, live.text);

    const pid = (puller as unknown as { child?: { pid?: number } }).child?.pid;
    assert.ok(alive(pid), 'ffmpeg runs');
    // What every local user sees of the child (`ps`): no stream key, no ingest URL.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(argv.includes('pipe:1'), argv.join(' '));
    assert.ok(!argv.some((word) => word.includes(f.key) || word.startsWith('rtmp:')), `the key is not in ffmpeg's arguments: ${argv.join(' ')}`);
    assert.deepEqual(await core.goLive.setPulling(f.streamId, false).then((s) => s.dataPulling), false);
    await waitFor('ffmpeg to be gone', () => !alive(pid), 5_000);
    await waitFor('the publish to end', async () => !(await core.goLive.status(f.streamId)).dataIncoming, 10_000);
    assert.equal(server.running.pullers.get(f.streamId), undefined);
  });

  test('a source that ends switches pulling off; a shutdown kills a running puller', async () => {
    const core = server.running.core;
    const short = await msStream(server, { pullArgs: `-i '${source}' -c copy` });
    await core.goLive.setPulling(short.streamId, true);
    await waitFor('pulling to switch itself off at the end of the file', async () => !(await core.goLive.status(short.streamId)).dataPulling, 20_000);

    const looping = await msStream(server, { pullArgs: `-re -stream_loop -1 -i '${source}' -c copy` });
    await core.goLive.setPulling(looping.streamId, true);
    await waitFor('the looping puller to publish', async () => (await core.goLive.status(looping.streamId)).dataIncoming, 15_000);
    const pid = (server.running.pullers.get(looping.streamId) as unknown as { child?: { pid?: number } }).child?.pid;
    assert.ok(alive(pid));
    await server.close();
    assert.ok(!alive(pid), 'no ffmpeg left after the server closed');
    server = undefined as unknown as TestServer;
  });

  test('a failing source is retried, then given up, with ffmpeg’s reason kept', async () => {
    server = await startTestServer('sqlite', { reconnectWindow: '0', pullMaxAttempts: '2', pullFileDir: dir.path });
    const core = server.running.core;
    writeFileSync(join(dir.path, 'broken.flv'), 'not a video');
    const f = await msStream(server, { pullArgs: `-i broken.flv` });
    await core.goLive.setPulling(f.streamId, true);
    const puller = await waitFor('the puller to start', () => server.running.pullers.get(f.streamId));
    await waitFor('the puller to give up', async () => !(await core.goLive.status(f.streamId)).dataPulling, 15_000);
    assert.match(puller.lastError, /broken\.flv/);
    assert.doesNotMatch(puller.lastError, new RegExp(f.key));
    await sleep(100);
  });

  test('the arguments are checked again before each start: a file turned into a link out of the directory stops the puller', async () => {
    const core = server.running.core;
    const path = join(dir.path, 'changes.flv');
    writeFileSync(path, 'not a video yet');
    writeFileSync(join(dir.path, '..', `outside-${process.pid}.flv`), readFileSync(source));
    const f = await msStream(server, { pullArgs: `-i changes.flv` });
    await core.goLive.setPulling(f.streamId, true);
    const puller = await waitFor('the puller to start', () => server.running.pullers.get(f.streamId));
    await waitFor('the first run to fail', () => puller.lastError !== '', 10_000);
    // Before the retry (1 s later) the file becomes a link to a playable file outside.
    rmSync(path);
    symlinkSync(join(dir.path, '..', `outside-${process.pid}.flv`), path);
    await waitFor('pulling to switch off', async () => !(await core.goLive.status(f.streamId)).dataPulling, 15_000);
    assert.match(puller.lastError, /^refused: input "changes\.flv" is outside the pull directory$/);
    assert.equal((await core.goLive.status(f.streamId)).dataIncoming, false);
    assert.equal(await core.broadcasts.latest(f.streamId), undefined, 'nothing was published');
    rmSync(join(dir.path, '..', `outside-${process.pid}.flv`));
    await server.close();
    server = undefined as unknown as TestServer;
  });
});

/** An HTTP server on 127.0.0.1 answering `routes` by path (404 otherwise). */
async function httpServer(routes: Record<string, () => Buffer | string>): Promise<{ url: string; server: Server; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    paths.push(req.url ?? '');
    const route = routes[path];
    if (!route) {
      res.writeHead(404).end('no');
      return;
    }
    res.writeHead(200).end(route());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, paths };
}

describe('pull sources are confined', { skip: ffmpegMissing }, () => {
  const dir = tempDir('pull-confined');
  let source: string;
  let segment: string;
  let web: Awaited<ReturnType<typeof httpServer>>;
  let server: TestServer | undefined;

  before(async () => {
    source = join(dir.path, 'source.flv');
    makeFlv(source, 'av', 4);
    segment = join(dir.path, 'segment.ts');
    ffmpeg(['-i', source, '-c', 'copy', '-f', 'mpegts', segment]);
    const playlist = (uri: string) => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:5\n#EXTINF:4.0,\n${uri}\n#EXT-X-ENDLIST\n`;
    web = await httpServer({
      '/segment.ts': () => readFileSync(segment),
      '/http.m3u8': () => playlist(`${web.url}/segment.ts`),
      '/file.m3u8': () => playlist(`file:${segment}`),
    });
  });
  after(async () => {
    await server?.close();
    await new Promise((resolve) => web?.server.close(resolve));
    dir.remove();
  });

  test('ffmpeg itself refuses a file input under the network whitelist', async () => {
    const result = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-protocol_whitelist', NETWORK_PROTOCOLS.join(','), '-i', `file:${source}`, '-f', 'null', '-'], 20_000);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Protocol 'file' not on whitelist/);
    // The same command with the file-only list reads it: the refusal above is the whitelist's.
    const control = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-protocol_whitelist', 'file', '-i', `file:${source}`, '-f', 'null', '-'], 20_000);
    assert.equal(control.code, 0, control.stderr);
  });

  test('without --pull-file-dir a local file is refused when set (API 400, nothing changed), and private hosts too', async () => {
    server = await startTestServer('sqlite', { reconnectWindow: '0' });
    const user = await msUser(server, 'confined');
    const stream = await newStream(server, user, { name: 'Confined' });
    const before = await server.snapshot();
    for (const [text, problem] of [
      [`-re -i '${source}' -c copy`, /local files are not allowed/],
      [`-f rawvideo -s 64x64 -pix_fmt gray -i file:${source}`, /local files are not allowed/],
      [`-f lavfi -i movie=${source}`, /-f lavfi is not allowed/],
      [`-i ${web.url}/http.m3u8`, /127\.0\.0\.1 is a loopback address/],
      [`-f rawvideo -i http://localhost:${new URL(web.url).port}/`, /loopback/],
    ] as const) {
      assertError(await ms(server, 'POST', `/stream/${stream.id}`, user, { body: { ffmpeg_pull_args: text } }), 400, problem);
    }
    assert.equal(await server.snapshot(), before);
    assert.equal(web.paths.length, 0, 'no request reached the private host');
    await server.close();
    server = undefined;
  });

  test('with --allow-private-fetch a private HLS source plays; its playlist cannot make ffmpeg read a file: segment', async () => {
    // The segment's directory is even the pull directory: a network input still may not read files.
    server = await startTestServer('sqlite', { reconnectWindow: '0', pullMaxAttempts: '1', allowPrivateFetch: '1', pullFileDir: dir.path });
    const core = server.running.core;

    const good = await msStream(server, { pullArgs: `-re -i ${web.url}/http.m3u8 -c copy` });
    await core.goLive.setPulling(good.streamId, true);
    await waitFor('the HLS source to come in', async () => (await core.goLive.status(good.streamId)).dataIncoming, 15_000);
    await core.goLive.setPulling(good.streamId, false);
    assert.ok(web.paths.includes('/segment.ts'), 'the http segment was fetched');

    const bad = await msStream(server, { pullArgs: `-re -i ${web.url}/file.m3u8 -c copy` });
    await core.goLive.setPulling(bad.streamId, true);
    const puller = await waitFor('the puller to start', () => server!.running.pullers.get(bad.streamId));
    await waitFor('the puller to give up', async () => !(await core.goLive.status(bad.streamId)).dataPulling, 15_000);
    assert.match(puller.lastError, /Protocol 'file' not on whitelist/);
    assert.equal(await core.broadcasts.latest(bad.streamId), undefined, 'nothing was published');
  });

  test('the kept error has no URL query (credentials in a URL are refused before)', async () => {
    const core = server!.running.core;
    const f = await msStream(server!, { pullArgs: `-i http://127.0.0.1:${new URL(web.url).port}/gone.flv?token=abc123` });
    await core.goLive.setPulling(f.streamId, true);
    const puller = await waitFor('the puller to start', () => server!.running.pullers.get(f.streamId));
    await waitFor('the puller to give up', async () => !(await core.goLive.status(f.streamId)).dataPulling, 15_000);
    assert.ok(web.paths.some((p) => p.startsWith('/gone.flv?token=abc123')), 'ffmpeg asked with the token');
    assert.match(puller.lastError, /404/);
    assert.doesNotMatch(puller.lastError, /abc123/);
  });
});
