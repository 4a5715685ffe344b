/**
 * What held, kept so: 5,000 connections that trickle their headers (slowloris) neither exhaust
 * the server nor stop it from answering others, and each is closed once the header timeout
 * passes. The per-address cap is off here (as behind a reverse proxy) so every one of them is
 * accepted and only the timeouts protect the server.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CONNECTIONS = 5000;

describe('slowloris', () => {
  let server: TestServer;
  const sockets: Socket[] = [];
  before(async () => {
    server = await startTestServer('sqlite', { httpMaxConnectionsPerIp: '0', httpHeadersTimeout: '3', httpRequestTimeout: '6' });
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await server.close();
  });

  it(`${CONNECTIONS} connections trickling headers are all closed by the header timeout, and others are served meanwhile`, async () => {
    const port = Number(new URL(server.url).port);
    let closed = 0;
    const openOne = () =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        sockets.push(socket);
        socket.on('error', () => {});
        socket.once('close', () => closed++);
        socket.once('connect', () => {
          socket.write('GET /streams/ HTTP/1.1\r\nHost: x\r\n');
          resolve();
        });
        socket.once('error', reject);
      });
    for (let i = 0; i < CONNECTIONS; i += 250) await Promise.all(Array.from({ length: Math.min(250, CONNECTIONS - i) }, openOne));
    // Keep trickling: one header line a second, never the end of the headers.
    const trickle = setInterval(() => {
      for (const socket of sockets) if (!socket.destroyed) socket.write(`X-Slow-${Date.now()}: 1\r\n`);
    }, 1000);
    try {
      // The server still answers a well-behaved client while they hang.
      const answer = await fetch(`${server.url}/streams/`, { headers: { authorization: 'Bearer nope' } });
      assert.equal(answer.status, 401);
      const started = Date.now();
      while (closed < CONNECTIONS && Date.now() - started < 20_000) await sleep(100);
      assert.equal(closed, CONNECTIONS, `all ${CONNECTIONS} slow connections were closed (${closed} after ${Date.now() - started} ms)`);
    } finally {
      clearInterval(trickle);
    }
    const after = await fetch(`${server.url}/`, { headers: { accept: 'application/json' } });
    assert.equal(after.status, 200);
  });
});
