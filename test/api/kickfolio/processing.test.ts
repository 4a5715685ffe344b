/**
 * Kickfolio version processing, end to end: bundles built in the test (and by the real `zip`
 * program) served from a local HTTP server, processed to `ready` with what Info.plist says and
 * the images served back byte for byte; and every failure (a corrupt zip, `../` entries, an
 * oversized or stalled download, an unreachable or refused URL, redirect loops) ending in
 * `failed` with a reason, leaving no image and no temporary file behind.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { appZip, buildZip, DEMO_PLIST, png, xmlPlist } from '../../bundles/support.js';
import { assertError, BundleHost, createApp, createVersion, kf, newUser, pathOf, PRIVATE_FETCH, storedFiles, temporaryFiles, waitForState, type User } from './support.js';

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const MAX_BYTES = 200_000;

/** The zip with bytes of one entry's data flipped (its local header comes first in the file). */
function corruptEntry(zip: Buffer, name: string): Buffer {
  const at = zip.indexOf(Buffer.from(name)) + name.length + 10;
  const damaged = Buffer.from(zip);
  for (let i = 0; i < 8; i++) damaged[at + i] = damaged[at + i]! ^ 0x5a;
  return damaged;
}

for (const kind of databaseKinds()) {
  describe(`kickfolio version processing on ${kind}`, () => {
    let server: TestServer;
    let host: BundleHost;
    let user: User;
    before(async () => {
      server = await startTestServer(kind, { ...PRIVATE_FETCH, bundleMaxBytes: String(MAX_BYTES) });
      host = await new BundleHost().start();
      user = await newUser(server);
    });
    after(async () => {
      await host.close();
      await server.close();
    });

    /** The version ends `failed` with a reason matching `reason`, and nothing of it is left. */
    async function assertFailed(versionId: string, reason: RegExp): Promise<void> {
      const v = await waitForState(server, user, versionId);
      assert.equal(v.state, 'failed', `expected failed, got ${v.state}`);
      assert.match(v.failure_reason, reason);
      for (const field of ['icon', 'default_image', 'default_image_landscape', 'bundle', 'display_name', 'device_type']) assert.equal(v[field], null, field);
      assert.deepEqual(storedFiles(server).filter((f) => f.startsWith(versionId)), []);
      assert.deepEqual(temporaryFiles(server), []);
      for (const name of ['icon.png', 'default.png', 'default-landscape.png']) {
        assertError(await kf(server, 'GET', `/api/versions/${versionId}/${name}`, { user: null }), 404, 'not_found');
      }
    }

    describe('a good bundle', () => {
      it('goes pending → ready with what the XML Info.plist says, and serves its icon and launch images', async () => {
        const app = await createApp(server, user, 'Demo');
        const version = await createVersion(server, user, app.id, host.file('/xml.zip', appZip()));
        assert.equal(version.state, 'pending');
        const ready = await waitForState(server, user, version.id);
        assert.equal(ready.state, 'ready', ready.failure_reason);
        assert.equal(ready.version_string, '1.2.4');
        assert.equal(ready.bundle, 'com.example.demo');
        assert.equal(ready.display_name, 'Demo App');
        assert.equal(ready.device_type, 'iPhone');
        assert.equal(ready.failure_reason, null);
        assert.equal(ready.icon, `${server.running.config.publicUrl}/api/versions/${version.id}/icon.png`);
        assert.equal(ready.default_image, `${server.running.config.publicUrl}/api/versions/${version.id}/default.png`);
        assert.equal(ready.default_image_landscape, `${server.running.config.publicUrl}/api/versions/${version.id}/default-landscape.png`);

        const images: [string, Buffer][] = [
          [ready.icon, png(114, 114, [0, 255, 0, 255])],
          [ready.default_image, png(64, 96, [0, 0, 128, 255])],
          [ready.default_image_landscape, png(48, 32, [128, 0, 128, 255])],
        ];
        for (const [url, expected] of images) {
          // Without credentials: an <img> in a dashboard cannot send them.
          const response = await fetch(`${server.url}${pathOf(url)}`);
          assert.equal(response.status, 200);
          assert.equal(response.headers.get('content-type'), 'image/png');
          assert.deepEqual(Buffer.from(await response.arrayBuffer()), expected);
        }

        const shown = await kf(server, 'GET', `/api/apps/${app.id}`, { user });
        assert.equal(shown.json.app.bundle, 'com.example.demo');
        assert.equal(shown.json.app.icon, ready.icon);
        assert.equal(shown.json.app.device_type, 'iPhone');
        assert.equal(shown.json.app.default_to_landscape, false);
        assert.deepEqual(temporaryFiles(server), []);
      });

      it('reads a binary Info.plist in a Payload folder; a landscape iPad app makes its app default_to_landscape', async () => {
        const app = await createApp(server, user, 'Pad');
        const plist = { ...DEMO_PLIST, CFBundleIdentifier: 'com.example.pad', UIDeviceFamily: [2], UIInterfaceOrientation: 'UIInterfaceOrientationLandscapeLeft' };
        const version = await createVersion(server, user, app.id, host.file('/binary.zip', appZip({ folder: 'Payload', plist, plistFormat: 'binary' })));
        const ready = await waitForState(server, user, version.id);
        assert.equal(ready.state, 'ready', ready.failure_reason);
        assert.equal(ready.bundle, 'com.example.pad');
        assert.equal(ready.device_type, 'iPad');
        const shown = (await kf(server, 'GET', `/api/apps/${app.id}`, { user })).json.app;
        assert.equal(shown.default_to_landscape, true);
        assert.equal(shown.device_type, 'iPad');
      });

      it('keeps a version_string the user gave over the bundle\'s', async () => {
        const app = await createApp(server, user);
        const version = await createVersion(server, user, app.id, host.file('/given.zip', appZip()), { version_string: '9.9-beta' });
        const ready = await waitForState(server, user, version.id);
        assert.equal(ready.state, 'ready');
        assert.equal(ready.version_string, '9.9-beta');
      });

      it('follows redirects (each one checked) to the bundle', async () => {
        const app = await createApp(server, user);
        const target = host.file('/final.zip', appZip());
        host.handle('/hop2', (_req, res) => res.writeHead(302, { location: target }).end());
        const start = host.handle('/hop1', (_req, res) => res.writeHead(301, { location: '/hop2' }).end());
        const ready = await waitForState(server, user, (await createVersion(server, user, app.id, start)).id);
        assert.equal(ready.state, 'ready', ready.failure_reason);
      });

      it('processes a bundle zipped by the real zip program, with a plist from plistlib', { skip: (spawnSync('zip', ['-v']).error !== undefined || spawnSync('python3', ['-c', 'import plistlib']).status !== 0) && 'zip or python3 is missing' }, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'kickfolio-real-'));
        try {
          const app = join(dir, 'Real App.app');
          mkdirSync(join(app, 'en.lproj'), { recursive: true });
          const plist = spawnSync('python3', [
            '-c',
            'import plistlib,sys; sys.stdout.buffer.write(plistlib.dumps({"CFBundleIdentifier":"org.example.real","CFBundleVersion":"77","CFBundleName":"Real","UIDeviceFamily":[1,2],"CFBundleIcons":{"CFBundlePrimaryIcon":{"CFBundleIconFiles":["AppIcon60x60"]}}}, fmt=plistlib.FMT_BINARY))',
          ]);
          writeFileSync(join(app, 'Info.plist'), plist.stdout);
          writeFileSync(join(app, 'AppIcon60x60@2x.png'), png(120, 120));
          writeFileSync(join(app, 'Default-568h@2x.png'), png(64, 114));
          writeFileSync(join(app, 'Real App'), randomBytes(50_000));
          writeFileSync(join(app, 'en.lproj', 'InfoPlist.strings'), '"CFBundleName" = "Real";');
          const zipped = spawnSync('zip', ['-r', '-q', 'real.zip', 'Real App.app'], { cwd: dir });
          assert.equal(zipped.status, 0, String(zipped.stderr));
          const owner = await createApp(server, user, 'Real');
          const version = await createVersion(server, user, owner.id, host.file('/real.zip', readFileSync(join(dir, 'real.zip'))));
          const ready = await waitForState(server, user, version.id);
          assert.equal(ready.state, 'ready', ready.failure_reason);
          assert.equal(ready.bundle, 'org.example.real');
          assert.equal(ready.version_string, '77');
          assert.equal(ready.display_name, 'Real');
          assert.equal(ready.device_type, 'iPhone');
          assert.deepEqual(Buffer.from(await (await fetch(`${server.url}${pathOf(ready.icon)}`)).arrayBuffer()), png(120, 120));
          assert.deepEqual(Buffer.from(await (await fetch(`${server.url}${pathOf(ready.default_image)}`)).arrayBuffer()), png(64, 114));
          assert.equal(ready.default_image_landscape, null);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });

    describe('a bundle that cannot be used', () => {
      it('a corrupt zip (not a zip at all) fails with a reason and leaves nothing behind', async () => {
        const app = await createApp(server, user);
        const v = await createVersion(server, user, app.id, host.file('/garbage.zip', randomBytes(5000)));
        await assertFailed(v.id, /^the bundle is not a usable zip: no end of central directory record: not a zip file$/);
      });

      it('a zip damaged inside Info.plist, or inside the icon, fails its checks and leaves nothing behind', async () => {
        const app = await createApp(server, user);
        const plist = await createVersion(server, user, app.id, host.file('/damaged-plist.zip', corruptEntry(appZip(), 'Demo.app/Info.plist')));
        await assertFailed(plist.id, /^the bundle is not a usable zip: "Demo\.app\/Info\.plist" (fails its CRC-32 check|is corrupt|inflates to)/);
        const icon = await createVersion(server, user, app.id, host.file('/damaged-icon.zip', corruptEntry(appZip(), 'Demo.app/Icon@2x.png')));
        await assertFailed(icon.id, /^the bundle is not a usable zip: "Demo\.app\/Icon@2x\.png" (fails its CRC-32 check|is corrupt|inflates to)/);
      });

      it('a zip with ../ entries fails as unsafe and leaves nothing behind', async () => {
        const zip = buildZip([
          { name: 'Demo.app/Info.plist', data: xmlPlist(DEMO_PLIST) },
          { name: 'Demo.app/Icon.png', data: png(57, 57) },
          { name: 'Demo.app/../../../etc/cron.d/evil', data: '* * * * * root rm -rf /' },
        ]);
        const app = await createApp(server, user);
        const v = await createVersion(server, user, app.id, host.file('/traversal.zip', zip));
        await assertFailed(v.id, /^the bundle is not a usable zip: unsafe entry path "Demo\.app\/\.\.\/\.\.\/\.\.\/etc\/cron\.d\/evil" \(climbs out of the archive\)$/);
      });

      it('an oversized download fails on its Content-Length, and without one as the bytes arrive', async () => {
        const big = appZip({ files: { 'Payload.bin': randomBytes(MAX_BYTES) } });
        const app = await createApp(server, user);
        const declared = await createVersion(server, user, app.id, host.file('/big.zip', big));
        await assertFailed(declared.id, new RegExp(`^could not download the bundle: the bundle is ${big.length} bytes, larger than the limit of ${MAX_BYTES} bytes$`));
        const streamed = host.handle('/big-chunked.zip', (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/zip' });
          res.write(big.subarray(0, 100_000));
          setTimeout(() => res.end(big.subarray(100_000)), 20);
        });
        const chunked = await createVersion(server, user, app.id, streamed);
        await assertFailed(chunked.id, new RegExp(`^could not download the bundle: the bundle is larger than the limit of ${MAX_BYTES} bytes$`));
      });

      it('an unreachable URL fails with a reason', async () => {
        const app = await createApp(server, user);
        const v = await createVersion(server, user, app.id, `http://127.0.0.1:${await closedPort()}/bundle.zip`);
        await assertFailed(v.id, /^could not download the bundle: the host 127\.0\.0\.1 refused the connection$/);
        const nowhere = await createVersion(server, user, app.id, 'http://bundle-host.invalid/app.zip');
        await assertFailed(nowhere.id, /^could not download the bundle: the host bundle-host\.invalid could not be resolved/);
      });

      it('an HTTP error, a redirect loop and a redirect to another scheme each fail with a reason', async () => {
        const app = await createApp(server, user);
        const missing = await createVersion(server, user, app.id, `${host.url}/no-such-file.zip`);
        await assertFailed(missing.id, /^could not download the bundle: the host 127\.0\.0\.1 answered HTTP 404$/);

        const loop = host.handle('/loop', (_req, res) => res.writeHead(302, { location: '/loop' }).end());
        await assertFailed((await createVersion(server, user, app.id, loop)).id, /^could not download the bundle: the bundle URL redirected more than 5 times$/);

        const ftp = host.handle('/to-ftp', (_req, res) => res.writeHead(302, { location: 'ftp://127.0.0.1/app.zip' }).end());
        await assertFailed((await createVersion(server, user, app.id, ftp)).id, /^could not download the bundle: only http:\/\/ and https:\/\/ URLs can be fetched \(got ftp:\)$/);
      });

      it('a zip without an .app, or whose Info.plist lacks CFBundleIdentifier, fails with a reason', async () => {
        const app = await createApp(server, user);
        const noApp = await createVersion(server, user, app.id, host.file('/no-app.zip', buildZip([{ name: 'readme.txt', data: 'hello' }])));
        await assertFailed(noApp.id, /^the bundle is not a usable iOS app: the zip holds no \.app bundle/);
        const { CFBundleIdentifier: _id, ...plist } = DEMO_PLIST;
        const noId = await createVersion(server, user, app.id, host.file('/no-id.zip', appZip({ plist })));
        await assertFailed(noId.id, /^the bundle is not a usable iOS app: Info\.plist has no CFBundleIdentifier$/);
        const badPlist = await createVersion(server, user, app.id, host.file('/bad-plist.zip', buildZip([{ name: 'X.app/Info.plist', data: '<plist><dict><key>a</key></dict></plist>' }])));
        await assertFailed(badPlist.id, /^Info\.plist could not be read: XML plist key "a" has no value/);
      });
    });

    describe('a version that changes', () => {
      it('processes a new bundle URL again: new facts and images, the old images gone', async () => {
        const app = await createApp(server, user);
        const v = await createVersion(server, user, app.id, host.file('/v1.zip', appZip()));
        const first = await waitForState(server, user, v.id);
        assert.equal(first.version_string, '1.2.4');
        const firstFiles = storedFiles(server).filter((f) => f.startsWith(v.id));
        assert.equal(firstFiles.length, 3);

        const v2 = appZip({ plist: { ...DEMO_PLIST, CFBundleShortVersionString: '2.0' }, noImages: true, files: { 'Icon.png': png(30, 30) } });
        const r = await kf(server, 'PUT', `/api/versions/${v.id}`, { user, body: { version: { bundle_url: host.file('/v2.zip', v2) } } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.version.state, 'pending');
        assert.equal(r.json.version.version_string, null, 'the old bundle\'s version string goes with it');
        assert.equal(r.json.version.icon, null);
        const second = await waitForState(server, user, v.id);
        assert.equal(second.state, 'ready', second.failure_reason);
        assert.equal(second.version_string, '2.0');
        assert.equal(second.default_image, null);
        assert.deepEqual(Buffer.from(await (await fetch(`${server.url}${pathOf(second.icon)}`)).arrayBuffer()), png(30, 30));
        const secondFiles = storedFiles(server).filter((f) => f.startsWith(v.id));
        assert.deepEqual(secondFiles, [`${v.id}/2/icon.png`]);
      });

      it('two new bundle URLs sent at once each get their own generation; only the last one\'s images remain', async () => {
        const app = await createApp(server, user);
        const v = await createVersion(server, user, app.id, host.file('/race-0.zip', appZip()));
        await waitForState(server, user, v.id);
        const urls = [1, 2].map((n) => host.file(`/race-${n}.zip`, appZip({ noImages: true, files: { 'Icon.png': png(10 * n, 10 * n) } })));
        const answers = await Promise.all(urls.map((url) => kf(server, 'PUT', `/api/versions/${v.id}`, { user, body: { version: { bundle_url: url } } })));
        for (const r of answers) assert.equal(r.status, 200, r.text);
        const ready = await waitForState(server, user, v.id);
        assert.equal(ready.state, 'ready', ready.failure_reason);
        const row = await server.running.store.versions.findById(v.id);
        assert.equal(Number(row?.generation), 3, 'each change started a generation of its own');
        const n = urls.indexOf(ready.bundle_url) + 1;
        assert.ok(n > 0);
        assert.deepEqual(Buffer.from(await (await fetch(`${server.url}${pathOf(ready.icon)}`)).arrayBuffer()), png(10 * n, 10 * n));
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.deepEqual(storedFiles(server).filter((f) => f.startsWith(v.id)), [`${v.id}/3/icon.png`]);
      });

      it('retries a failed version when its bundle URL is sent again', async () => {
        const app = await createApp(server, user);
        let available = false;
        const url = host.handle('/later.zip', (_req, res) => {
          if (!available) return void res.writeHead(503).end();
          const data = appZip();
          res.writeHead(200, { 'content-length': data.length }).end(data);
        });
        const v = await createVersion(server, user, app.id, url);
        await assertFailed(v.id, /answered HTTP 503/);
        available = true;
        const r = await kf(server, 'PUT', `/api/versions/${v.id}`, { user, body: { version: { bundle_url: url } } });
        assert.equal(r.status, 200, r.text);
        // The processor may claim the version between the update and the answer.
        assert.ok(['pending', 'processing'].includes(r.json.version.state), r.text);
        assert.equal(r.json.version.failure_reason, null);
        assert.equal((await waitForState(server, user, v.id)).state, 'ready');
      });

      it('a failure while storing the result ends in failed with a general reason, not stuck in processing', async () => {
        const queue = server.running.core.versionQueue;
        const complete = queue.complete;
        queue.complete = async () => {
          throw new Error('disk full: /var/lib/secret/path');
        };
        try {
          const app = await createApp(server, user);
          const v = await createVersion(server, user, app.id, host.file('/unlucky.zip', appZip()));
          await assertFailed(v.id, /^an internal error stopped the processing of the bundle$/);
        } finally {
          queue.complete = complete;
        }
      });

      it('a version deleted while its bundle downloads leaves nothing behind', async () => {
        const app = await createApp(server, user);
        const zip = appZip();
        let finish: () => void = () => {};
        let started: () => void = () => {};
        const requested = new Promise<void>((resolve) => (started = resolve));
        const url = host.handle('/deleted-midway.zip', (_req, res) => {
          res.writeHead(200, { 'content-length': zip.length });
          res.write(zip.subarray(0, 100));
          started();
          finish = () => res.end(zip.subarray(100));
        });
        const v = await createVersion(server, user, app.id, url);
        await requested;
        assert.equal((await kf(server, 'GET', `/api/versions/${v.id}`, { user })).json.version.state, 'processing');
        assert.equal((await kf(server, 'DELETE', `/api/versions/${v.id}`, { user })).status, 204);
        finish();
        const deadline = Date.now() + 5000;
        while (temporaryFiles(server).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(temporaryFiles(server), []);
        assert.deepEqual(storedFiles(server).filter((f) => f.startsWith(v.id)), []);
      });
    });

  });

  describe(`kickfolio bundle downloads that stall on ${kind}`, () => {
    it('a download that stalls past --bundle-fetch-timeout fails with a reason and leaves nothing behind', async () => {
      const server = await startTestServer(kind, { ...PRIVATE_FETCH, bundleFetchTimeout: '1' });
      const host = await new BundleHost().start();
      try {
        const user = await newUser(server);
        const stalled = host.handle('/stalled.zip', (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/zip', 'content-length': 10_000 });
          res.write(Buffer.alloc(100));
        });
        const app = await createApp(server, user);
        const started = Date.now();
        const v = await waitForState(server, user, (await createVersion(server, user, app.id, stalled)).id);
        assert.ok(Date.now() - started >= 900, 'the deadline was kept');
        assert.equal(v.state, 'failed');
        assert.equal(v.failure_reason, 'could not download the bundle: the download took longer than 1 second');
        assert.deepEqual(storedFiles(server), []);
        assert.deepEqual(temporaryFiles(server), []);
      } finally {
        await host.close();
        await server.close();
      }
    });
  });

  describe(`kickfolio bundle fetches without --allow-private-fetch on ${kind}`, () => {
    let server: TestServer;
    let host: BundleHost;
    let user: User;
    before(async () => {
      server = await startTestServer(kind);
      host = await new BundleHost().start();
      user = await newUser(server);
    });
    after(async () => {
      await host.close();
      await server.close();
    });

    it('refuses loopback, private and link-local hosts when the URL is saved, with a clear reason, without connecting', async () => {
      const app = await createApp(server, user);
      const port = new URL(host.url).port;
      const url = host.file('/private.zip', appZip());
      const cases: [string, RegExp][] = [
        [url, /^the host 127\.0\.0\.1 is a loopback address; private networks are turned off \(see --allow-private-fetch\)$/],
        [`http://localhost:${port}/private.zip`, /^the host localhost resolves to a loopback address; private networks are turned off/],
        [`http://[::1]:${port}/private.zip`, /^the host ::1 is a loopback address/],
        [`http://[::ffff:127.0.0.1]:${port}/private.zip`, /^the host ::ffff:7f00:1 is a loopback address/],
        ['http://169.254.169.254/latest/meta-data/', /^the host 169\.254\.169\.254 is a link-local address/],
        ['http://10.0.0.1/app.zip', /^the host 10\.0\.0\.1 is a private network address/],
        ['http://2130706433/app.zip', /^the host 127\.0\.0\.1 is a loopback address/],
      ];
      const before = await server.snapshot();
      for (const [bundleUrl, reason] of cases) {
        const r = await kf(server, 'POST', '/api/versions', { user, body: { version: { app_id: app.id, bundle_url: bundleUrl } } });
        assertError(r, 422, 'record_invalid', /^Validation failed: /);
        const error = (r.json.errors as { field: string; message: string }[]).find((e) => e.field === 'bundle_url');
        assert.match(error?.message ?? '', reason, bundleUrl);
      }
      assert.equal(await server.snapshot(), before, 'nothing was stored');
      assert.deepEqual(host.requests, [], 'nothing reached the private host');
      assert.deepEqual(storedFiles(server), []);
    });
  });
}
