/**
 * The process log holds no request bytes and no credential: a malformed request at trace level
 * is logged without its raw packet (which holds every header, Authorization included), and
 * credential-bearing query parameters on any path (`?key=` on /hls/, `?token=`) are redacted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { createTestDatabase } from './helpers/databases.js';

/** Sends raw bytes and resolves with whatever comes back before the server closes the connection. */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy());
  });
}

describe('the log', () => {
  it('never holds a raw request, an Authorization header or a credential of a query, even at trace level', async () => {
    const database = await createTestDatabase('sqlite');
    const dataDir = mkdtempSync(join(tmpdir(), 'streamdelta-data-'));
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    const config = loadConfig({ httpHost: '127.0.0.1', httpPort: '0', rtmpPort: '0', dataDir, databaseUrl: database.url, logLevel: 'trace' }, {});
    const running = await startServer(config, { logStream: stream });
    const port = Number(new URL(running.httpUrl).port);
    const secrets = ['Bearer-secret-in-a-bad-request-1f2e', 'viewer-key-secret-3d4c', 'viewer-token-secret-5b6a', 'sig-secret-7f8e'];
    try {
      // An invalid header line: Node's parser refuses the request, and its error carries the raw bytes.
      const answer = await rawRequest(port, `GET /streams/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secrets[0]}\r\nBad Header Line\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 400/);
      const streamId = '7d1f8d3e-9a4b-4c5d-8e6f-0a1b2c3d4e5f';
      await fetch(`${running.httpUrl}/hls/${streamId}/index.m3u8?key=${secrets[1]}`);
      await fetch(`${running.httpUrl}/hls/${streamId}/index.m3u8?token=${secrets[2]}&x=1`);
      await fetch(`${running.httpUrl}/service/session/list?key=k&sig=${secrets[3]}&rid=1`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const log = lines.join('\n');
      assert.ok(lines.some((line) => /client error|Parse Error|HPE_/i.test(line)), 'the malformed request is logged');
      assert.ok(log.includes('key=[redacted]') && log.includes('token=[redacted]'), 'requests are logged, their credentials redacted');
      for (const secret of secrets) assert.ok(!log.includes(secret), `${secret} is not in the log`);
      assert.ok(!/rawPacket/.test(log), 'no raw packet is logged');
    } finally {
      await running.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
