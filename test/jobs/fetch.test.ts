/**
 * The bundle fetcher on its own: what addresses count as private, and every bound of a
 * download (scheme, private hosts checked before connecting, redirects, bytes, time, stop).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyAddress } from '../../src/core/egress/addresses.js';
import { EgressPolicy } from '../../src/core/egress/policy.js';
import { downloadToFile, FetchError, type FetchLimits } from '../../src/jobs/fetch.js';
import { BundleHost } from '../api/kickfolio/support.js';

describe('classifyAddress', () => {
  const cases: [string, boolean, RegExp][] = [
    ['8.8.8.8', true, /public/],
    ['172.32.0.1', true, /public/],
    ['100.128.0.1', true, /public/],
    ['2001:4860:4860::8888', true, /public/],
    ['::ffff:8.8.8.8', true, /public/],
    ['64:ff9b::808:808', true, /public/],
    ['127.0.0.1', false, /loopback/],
    ['127.255.255.254', false, /loopback/],
    ['10.20.30.40', false, /private/],
    ['172.16.0.1', false, /private/],
    ['172.31.255.255', false, /private/],
    ['192.168.0.10', false, /private/],
    ['169.254.169.254', false, /link-local/],
    ['100.64.0.1', false, /carrier-grade NAT/],
    ['0.0.0.0', false, /this network/],
    ['224.0.0.251', false, /multicast/],
    ['255.255.255.255', false, /reserved/],
    ['192.0.2.1', false, /documentation/],
    ['::1', false, /loopback/],
    ['::', false, /unspecified/],
    ['::ffff:127.0.0.1', false, /loopback/],
    ['::ffff:a9fe:a9fe', false, /link-local/],
    ['::10.0.0.1', false, /private/],
    ['64:ff9b::7f00:1', false, /loopback/],
    ['2002:c0a8:0101::1', false, /private/],
    ['fe80::1', false, /link-local/],
    ['fe80::1%eth0', false, /link-local/],
    ['fd00::1', false, /unique local/],
    ['ff02::1', false, /multicast/],
    ['2001:db8::1', false, /documentation/],
    ['not an address', false, /not an IP address/],
  ];
  for (const [address, isPublic, label] of cases) {
    it(`${address} is ${isPublic ? 'public' : 'not public'}`, () => {
      const kind = classifyAddress(address);
      assert.equal(kind.public, isPublic);
      assert.match(kind.label, label);
    });
  }
});

describe('downloadToFile', () => {
  let host: BundleHost;
  let dir: string;
  const data = Buffer.from('x'.repeat(5000));
  const limits: FetchLimits = { maxBytes: 10_000, timeoutMs: 5000, maxRedirects: 2, egress: new EgressPolicy(true) };
  const file = () => join(dir, `${Math.random().toString(36).slice(2)}.zip`);
  before(async () => {
    host = await new BundleHost().start();
    dir = mkdtempSync(join(tmpdir(), 'fetch-test-'));
  });
  after(async () => {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function refused(work: Promise<unknown>, message: RegExp): Promise<void> {
    await assert.rejects(work, (err: unknown) => {
      assert.ok(err instanceof FetchError, `expected a FetchError, got ${String(err)}`);
      assert.match(err.message, message);
      return true;
    });
  }

  it('downloads a file and says how many bytes it holds', async () => {
    const path = file();
    assert.deepEqual(await downloadToFile(host.file('/a.zip', data), path, limits), { bytes: data.length });
    assert.deepEqual(readFileSync(path), data);
  });

  it('only fetches http and https', async () => {
    await refused(downloadToFile('ftp://127.0.0.1/a.zip', file(), limits), /only http:\/\/ and https:\/\/ URLs can be fetched \(got ftp:\)/);
    await refused(downloadToFile('file:///etc/passwd', file(), limits), /got file:/);
    await refused(downloadToFile('::not a url::', file(), limits), /not a valid URL/);
  });

  it('refuses private hosts before connecting unless allowed, by literal address and by name', async () => {
    const url = host.file('/private.zip', data);
    const before = host.requests.length;
    const strict = { ...limits, egress: new EgressPolicy(false) };
    await refused(downloadToFile(url, file(), strict), /the host 127\.0\.0\.1 is a loopback address/);
    await refused(downloadToFile(url.replace('127.0.0.1', 'localhost'), file(), strict), /the host localhost resolves to a loopback address;/);
    assert.equal(host.requests.length, before, 'no request reached the host');
  });

  it('re-checks every redirect and stops after maxRedirects', async () => {
    const target = host.file('/target.zip', data);
    host.handle('/r2', (_req, res) => res.writeHead(307, { location: target }).end());
    const r1 = host.handle('/r1', (_req, res) => res.writeHead(308, { location: '/r2' }).end());
    assert.deepEqual(await downloadToFile(r1, file(), limits), { bytes: data.length });
    const r0 = host.handle('/r0', (_req, res) => res.writeHead(302, { location: r1 }).end());
    await refused(downloadToFile(r0, file(), limits), /redirected more than 2 times/);
    const bare = host.handle('/no-location', (_req, res) => res.writeHead(302).end());
    await refused(downloadToFile(bare, file(), limits), /answered HTTP 302 without a Location/);
  });

  it('stops at maxBytes, declared or not', async () => {
    const big = Buffer.alloc(20_000, 1);
    await refused(downloadToFile(host.file('/big.zip', big), file(), limits), /the bundle is 20000 bytes, larger than the limit of 10000 bytes/);
    const streamed = host.handle('/streamed.zip', (_req, res) => {
      res.writeHead(200);
      res.end(big);
    });
    await refused(downloadToFile(streamed, file(), limits), /larger than the limit of 10000 bytes/);
  });

  it('keeps one deadline for the whole download, and a stop signal ends it with the signal\'s reason', async () => {
    const stalled = host.handle('/stalled.zip', (_req, res) => {
      res.writeHead(200, { 'content-length': 100 });
      res.write('x');
    });
    const started = Date.now();
    await refused(downloadToFile(stalled, file(), { ...limits, timeoutMs: 300 }), /took longer than 0 seconds|took longer than/);
    assert.ok(Date.now() - started < 3000);
    const stop = new AbortController();
    const reason = new Error('stopping');
    setTimeout(() => stop.abort(reason), 100);
    await assert.rejects(downloadToFile(stalled, file(), limits, stop.signal), (err: unknown) => err === reason);
  });

  it('fetches over https through the same guard, and refuses a certificate nobody vouches for', { skip: spawnSync('openssl', ['version']).error !== undefined && 'openssl is not installed' }, async () => {
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1']);
    assert.equal(made.status, 0, String(made.stderr));
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('secret'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/a.zip`;
      await refused(downloadToFile(url, file(), limits), /^the TLS connection to 127\.0\.0\.1 failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)$/);
      await refused(downloadToFile(url, file(), { ...limits, egress: new EgressPolicy(false) }), /is a loopback address/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reports a cut-off body and a server that closes early', async () => {
    const cut = host.handle('/cut.zip', (req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('x'.repeat(10));
      setTimeout(() => req.socket.destroy(), 20);
    });
    await refused(downloadToFile(cut, file(), limits), /closed before the bundle was complete|was reset/);
  });
});
