/**
 * Connection limits (issue 14, item 11): one client address cannot hold more than its share of
 * the server's connections, and connections that send nothing, send their headers or body too
 * slowly, or sit idle after a request are closed after the configured timeouts. Performed
 * against the real server with raw sockets; the server keeps answering others throughout.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from '../helpers/server.js';

const LIMITS = {
  httpMaxConnectionsPerIp: '20',
  httpHeadersTimeout: '1',
  httpRequestTimeout: '2',
  httpKeepAliveTimeout: '1',
  rtmpMaxConnectionsPerIp: '5',
};

interface Probe {
  socket: Socket;
  closedAt: number | undefined;
  received: string;
}

/** Every probe opened, destroyed after the tests so that a failure leaves no connection behind. */
const opened: Probe[] = [];

/** A raw connection that records when the server closed it and what it answered. */
function open(port: number): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const probe: Probe = { socket, closedAt: undefined, received: '' };
    opened.push(probe);
    socket.on('data', (chunk) => (probe.received += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => (probe.closedAt = Date.now()));
    socket.once('connect', () => resolve(probe));
    socket.once('error', reject);
  });
}

async function waitClosed(probe: Probe, withinMs: number): Promise<number> {
  const started = Date.now();
  while (probe.closedAt === undefined) {
    if (Date.now() - started > withinMs) assert.fail(`the connection is still open after ${withinMs} ms`);
    await sleep(25);
  }
  return probe.closedAt - started;
}

describe('connection limits', () => {
  let server: TestServer;
  let port: number;
  before(async () => {
    server = await startTestServer('sqlite', LIMITS);
    port = Number(new URL(server.url).port);
  });
  after(async () => {
    for (const probe of opened) probe.socket.destroy();
    await server.close();
  });

  it('closes connections of one address beyond its limit at once, and lets new ones in as old ones go', async () => {
    const probes = await Promise.all(Array.from({ length: 50 }, () => open(port)));
    await sleep(300);
    const closed = probes.filter((p) => p.closedAt !== undefined);
    assert.equal(closed.length, 30, `${closed.length} of 50 were closed at once`);
    // The 20 that were let in hold the address's share: nothing else gets in meanwhile.
    await assert.rejects(fetch(`${server.url}/`, { signal: AbortSignal.timeout(2000) }));
    // They send nothing, so the header timeout ends them, and the address may connect again.
    for (const probe of probes) await waitClosed(probe, 3000);
    const answer = await fetch(`${server.url}/streams/`);
    assert.equal(answer.status, 401);
  });

  it('ends a request whose headers come too slowly (slowloris)', async () => {
    const probe = await open(port);
    probe.socket.write('GET /streams/ HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => probe.socket.writable && probe.socket.write('X-Drip: 1\r\n'), 200);
    try {
      const after = await waitClosed(probe, 3500);
      assert.ok(after < 3500, `closed after ${after} ms`);
      assert.match(probe.received, /^(HTTP\/1\.1 408|$)/);
    } finally {
      clearInterval(drip);
    }
  });

  it('ends a request whose body comes too slowly', async () => {
    const probe = await open(port);
    probe.socket.write('POST /accounts/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    const drip = setInterval(() => probe.socket.writable && probe.socket.write(' '), 200);
    try {
      await waitClosed(probe, 5000);
    } finally {
      clearInterval(drip);
    }
    assert.doesNotMatch(probe.received, /HTTP\/1\.1 200/);
  });

  it('closes a kept-alive connection that stays idle after its request', async () => {
    const probe = await open(port);
    probe.socket.write('GET /streams/ HTTP/1.1\r\nHost: x\r\n\r\n');
    const after = await waitClosed(probe, 3500);
    assert.match(probe.received, /^HTTP\/1\.1 401/);
    assert.ok(after >= 900, `closed after ${after} ms: not before the keep-alive timeout`);
  });

  it('closes RTMP connections of one address beyond its limit at once', async () => {
    const probes = await Promise.all(Array.from({ length: 12 }, () => open(server.running.rtmpPort)));
    await sleep(300);
    assert.equal(probes.filter((p) => p.closedAt !== undefined).length, 7);
    for (const probe of probes) probe.socket.destroy();
  });
});
