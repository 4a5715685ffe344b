/**
 * Version processing across restarts: the versions table is the queue. A server stopped
 * mid-download hands its job back and the next server on the same database finishes it; a
 * version left `processing` by a crashed server is resumed, and given up after three
 * interrupted attempts; a claim abandoned by a dead node is taken over after its lease, a live
 * node's claim is not; a version queued by another node is picked up when the bus announces it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config.js';
import { Store } from '../../../src/store/store.js';
import type { VersionRow } from '../../../src/store/repositories/dialects/kickfolio.js';
import type { AppId, VersionId } from '../../../src/core/kernel/ids.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { appZip } from '../../bundles/support.js';
import { BundleHost, createApp, createVersion, kf, newUser, PRIVATE_FETCH, storedFiles, temporaryFiles, waitForState, type User } from './support.js';

async function withStore<T>(database: TestDatabase, work: (store: Store) => Promise<T>): Promise<T> {
  const store = Store.open(loadConfig({ databaseUrl: database.url }, {}).database);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** A version row as another server would have written it. */
function versionRow(ownerId: string, appId: string, bundleUrl: string, changes: Partial<VersionRow>): VersionRow {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    app_id: appId,
    owner_id: ownerId,
    state: 'pending',
    failure_reason: null,
    bundle_url: bundleUrl,
    version_string: null,
    version_string_from_bundle: 0,
    bundle_identifier: null,
    display_name: null,
    device_type: null,
    default_to_landscape: 0,
    icon_key: null,
    default_image_key: null,
    default_image_landscape_key: null,
    generation: 1,
    attempts: 0,
    claimed_by: null,
    claimed_at: null,
    created_at: now,
    updated_at: now,
    ...changes,
  };
}

for (const kind of databaseKinds()) {
  describe(`kickfolio version jobs across restarts on ${kind}`, () => {
    let database: TestDatabase;
    let dataDir: string;
    let host: BundleHost;
    let bundleUrl: string;
    before(async () => {
      database = await createTestDatabase(kind);
      dataDir = mkdtempSync(join(tmpdir(), 'streamdelta-data-'));
      host = await new BundleHost().start();
      bundleUrl = host.file('/ok.zip', appZip());
    });
    after(async () => {
      await host.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const start = () => startTestServer(kind, PRIVATE_FETCH, { database, dataDir });

    it('a server stopped mid-download hands the job back, and the next server on the database finishes it', async () => {
      const zip = appZip();
      let stall = true;
      let requested: () => void = () => {};
      const firstRequest = new Promise<void>((resolve) => (requested = resolve));
      const url = host.handle('/resumed.zip', (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/zip', 'content-length': zip.length });
        if (stall) {
          res.write(zip.subarray(0, 64));
          requested();
        } else {
          res.end(zip);
        }
      });

      const first = await start();
      const user = await newUser(first);
      const app = await createApp(first, user);
      const version = await createVersion(first, user, app.id, url);
      await firstRequest;
      assert.equal((await kf(first, 'GET', `/api/versions/${version.id}`, { user })).json.version.state, 'processing');
      const stopping = Date.now();
      await first.close();
      assert.ok(Date.now() - stopping < 5000, 'stopping does not wait for the stalled download');

      const row = await withStore(database, (store) => store.versions.findById(version.id));
      assert.equal(row?.state, 'pending', 'handed back to the queue');
      assert.equal(row?.claimed_by, null);
      assert.equal(Number(row?.attempts), 0, 'a stop is not an attempt that counts');

      stall = false;
      const second = await start();
      try {
        const ready = await waitForState(second, user, version.id);
        assert.equal(ready.state, 'ready', ready.failure_reason);
        assert.equal(ready.bundle, 'com.example.demo');
        assert.equal(host.requests.filter((p) => p === '/resumed.zip').length, 2);
        assert.deepEqual(temporaryFiles(second), []);
        assert.equal(storedFiles(second).filter((f) => f.startsWith(version.id)).length, 3);
      } finally {
        await second.close();
      }
    });

    describe('versions another server left behind', () => {
      let server: TestServer;
      let user: User;
      let appId: string;
      before(async () => {
        server = await start();
        user = await newUser(server);
        appId = (await createApp(server, user)).id;
      });
      after(() => server.close());

      it('picks up a pending version another node queued, when the bus announces it', async () => {
        const row = versionRow(user.id, appId, bundleUrl, {});
        await server.running.store.versions.insert(row);
        // What the queueing node publishes after its insert; every node's processor hears it.
        await server.running.core.events.publish({ type: 'version.created', versionId: row.id as VersionId, appId: appId as AppId });
        assert.equal((await waitForState(server, user, row.id)).state, 'ready');
      });

      it('resumes what a crashed run of this node left processing, gives up after three attempts, and takes over dead nodes\' claims only', async () => {
        const nodeId = server.running.config.nodeId;
        const hourAgo = new Date(Date.now() - 3600_000).toISOString();
        const now = new Date().toISOString();
        const crashed = versionRow(user.id, appId, bundleUrl, { state: 'processing', claimed_by: nodeId, claimed_at: now, attempts: 1 });
        const exhausted = versionRow(user.id, appId, bundleUrl, { state: 'processing', claimed_by: nodeId, claimed_at: now, attempts: 3 });
        const deadNode = versionRow(user.id, appId, bundleUrl, { state: 'processing', claimed_by: 'dead-node', claimed_at: hourAgo, attempts: 1 });
        const liveNode = versionRow(user.id, appId, bundleUrl, { state: 'processing', claimed_by: 'live-node', claimed_at: now, attempts: 1 });
        for (const row of [crashed, exhausted, deadNode, liveNode]) await server.running.store.versions.insert(row);
        // The running server leaves claimed versions alone: they are another run's.
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal((await kf(server, 'GET', `/api/versions/${crashed.id}`, { user })).json.version.state, 'processing');

        await server.close();
        server = await start();
        assert.equal((await waitForState(server, user, crashed.id)).state, 'ready');
        assert.equal((await waitForState(server, user, deadNode.id)).state, 'ready');
        const gaveUp = await waitForState(server, user, exhausted.id);
        assert.equal(gaveUp.state, 'failed');
        assert.equal(gaveUp.failure_reason, 'processing was interrupted 3 times');
        assert.equal((await kf(server, 'GET', `/api/versions/${liveNode.id}`, { user })).json.version.state, 'processing');
        const resumed = await server.running.store.versions.findById(crashed.id);
        assert.equal(Number(resumed?.attempts), 2);
      });
    });
  });
}
