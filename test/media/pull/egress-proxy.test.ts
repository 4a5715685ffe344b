/**
 * The pullers' egress proxy with the real ffmpeg: ffmpeg's HTTP, HLS segments included, goes
 * through it when `http_proxy` names it; each connection is judged by the egress policy when
 * it is made, so a playlist on an allowed host cannot make ffmpeg fetch a segment from a host
 * the policy refuses, and with private networks closed nothing reaches a private host at all.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EgressPolicy } from '../../../src/core/egress/policy.js';
import { EgressProxy } from '../../../src/media/pull/egress-proxy.js';
import { tempDir } from '../support.js';

/** A policy that opens private networks but for the names it is told to refuse, and notes every host it is asked about. */
class TestPolicy extends EgressPolicy {
  readonly asked: string[] = [];
  constructor(private readonly refusedNames: string[]) {
    super(true);
  }
  override addressRefusal(host: string, address: string): string | undefined {
    this.asked.push(host);
    return this.refusedNames.includes(host) ? `the host ${host} is refused here` : super.addressRefusal(host, address);
  }
}

/** ffmpeg reading `url` through the proxy; resolves with its exit code and what it said. */
function ffmpegThrough(proxyUrl: string, url: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, http_proxy: proxyUrl, https_proxy: proxyUrl };
    delete env.no_proxy;
    delete env.NO_PROXY;
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', url, '-c', 'copy', '-f', 'null', '-'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('the egress proxy', () => {
  const dir = tempDir('egress-proxy-');
  let web: Server;
  let port: number;
  const requests: string[] = [];
  let segment: Buffer;

  before(async () => {
    const file = join(dir.path, 'seg.ts');
    const made = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10', '-t', '1', '-c:v', 'libx264', '-f', 'mpegts', file]);
    assert.equal(made.status, 0, made.stderr?.toString());
    segment = readFileSync(file);
    web = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url?.endsWith('.m3u8')) {
        const segmentUrl = req.url.includes('elsewhere') ? `http://localhost:${port}/seg.ts` : 'seg.ts';
        res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
        res.end(`#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n${segmentUrl}\n#EXT-X-ENDLIST\n`);
      } else if (req.url === '/seg.ts') {
        res.writeHead(200, { 'content-type': 'video/mp2t' }).end(segment);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', () => resolve()));
    port = (web.address() as AddressInfo).port;
  });
  after(() => {
    web.close();
    dir.remove();
  });

  it('carries ffmpeg\'s playlist and segment requests, each judged when made', async () => {
    const policy = new TestPolicy([]);
    const proxy = new EgressProxy(policy);
    const proxyUrl = await proxy.start();
    try {
      requests.length = 0;
      const run = await ffmpegThrough(proxyUrl, `http://127.0.0.1:${port}/show.m3u8`);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(requests, ['/show.m3u8', '/seg.ts']);
      assert.ok(policy.asked.filter((h) => h === '127.0.0.1').length >= 2, `every request was judged: ${policy.asked.join(', ')}`);
    } finally {
      await proxy.close();
    }
  });

  it('refuses a segment on a host the policy refuses, named by a playlist on one it allows', async () => {
    const proxy = new EgressProxy(new TestPolicy(['localhost']));
    const proxyUrl = await proxy.start();
    try {
      requests.length = 0;
      const run = await ffmpegThrough(proxyUrl, `http://127.0.0.1:${port}/elsewhere.m3u8`);
      assert.deepEqual(requests, ['/elsewhere.m3u8'], 'the refused segment was never fetched');
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /Error when loading first segment/);
    } finally {
      await proxy.close();
    }
  });

  it('with private networks closed, nothing reaches a private host', async () => {
    const proxy = new EgressProxy(new EgressPolicy(false));
    const proxyUrl = await proxy.start();
    try {
      requests.length = 0;
      const run = await ffmpegThrough(proxyUrl, `http://127.0.0.1:${port}/show.m3u8`);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /403/);
      assert.deepEqual(requests, []);
      // A tunnel (how ffmpeg reaches https) is refused the same way.
      const tunnel = await new Promise<string>((resolve) => {
        const url = new URL(proxyUrl);
        const socket = connect(Number(url.port), '127.0.0.1');
        let answer = '';
        socket.on('data', (c: Buffer) => (answer += c.toString()));
        socket.on('close', () => resolve(answer));
        socket.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      });
      assert.match(tunnel, /^HTTP\/1\.1 403 /);
    } finally {
      await proxy.close();
    }
  });
});
