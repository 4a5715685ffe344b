/**
 * What held, kept so: no path sent to /hls reaches a file outside the stream's own segments,
 * however it is spelled (dot segments, encoded slashes and dots, backslashes, absolute paths):
 * each is answered 404 or 400 and nothing of the data directory comes back.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.js';

/** GET with the path exactly as written (fetch would normalise the dot segments away). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('latin1')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('paths under /hls', () => {
  let server: TestServer;
  const secret = 'secret-file-contents-0c1d2e';
  before(async () => {
    server = await startTestServer('sqlite');
    writeFileSync(join(server.running.config.dataDir, 'secret.txt'), secret);
    mkdirSync(join(server.running.config.dataDir, 'media', 'hls'), { recursive: true });
    writeFileSync(join(server.running.config.dataDir, 'media', 'secret.txt'), secret);
    writeFileSync(join(server.running.config.dataDir, 'media', 'hls', 'secret.txt'), secret);
  });
  after(() => server.close());

  it('never leave the stream: dot segments, encodings, backslashes and absolute paths are refused', async () => {
    const stream = '7d1f8d3e-9a4b-4c5d-8e6f-0a1b2c3d4e5f';
    const broadcast = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    const paths = [
      `/hls/../secret.txt`,
      `/hls/${stream}/../../secret.txt`,
      `/hls/${stream}/${broadcast}/../../../secret.txt`,
      `/hls/${stream}/${broadcast}/..%2f..%2f..%2fsecret.txt`,
      `/hls/${stream}/${broadcast}/%2e%2e%2f%2e%2e%2fsecret.txt`,
      `/hls/${stream}/%2e%2e/%2e%2e/secret.txt`,
      `/hls/..%2f..%2fsecret.txt/index.m3u8`,
      `/hls/${stream}/${broadcast}/..\\..\\secret.txt`,
      `/hls/${stream}/${broadcast}/%5c..%5c..%5csecret.txt`,
      `/hls/${stream}/..%2f${broadcast}/seg-00000.ts`,
      `/hls/%2fetc%2fpasswd/index.m3u8`,
      `/hls/${stream}/${broadcast}/seg-00000.ts%00.txt`,
      `/hls/${stream}/${broadcast}/seg-..%2f..%2fsecret.ts`,
    ];
    for (const path of paths) {
      const answer = await rawGet(server.url, path);
      assert.ok([400, 403, 404].includes(answer.status), `${path}: ${answer.status}`);
      assert.ok(!answer.body.includes(secret), `${path} leaked a file`);
      assert.ok(!answer.body.includes('root:'), `${path} leaked /etc/passwd`);
    }
  });
});
