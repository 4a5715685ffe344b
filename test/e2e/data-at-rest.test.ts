/**
 * Data at rest is private (issue 14, item 10): another user of the machine reads nothing of the
 * server's. The data directory is 0700 and every file the server writes in it 0600: the SQLite
 * database with its WAL and shared-memory files, blobs (uploads, recordings, images) and
 * temporary downloads; a data directory left open by an older version is tightened at start.
 * The process umask is set to the usual 022 here, so nothing private comes from it.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { downloadToFile } from '../../src/jobs/fetch.js';
import { EgressPolicy } from '../../src/core/egress/policy.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { THUMB_META, uploadStream } from '../media/upload/support.js';
import type { TestServer } from '../helpers/server.js';

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8).padStart(3, '0');
}

/** Every file and folder under `dir`, with its mode. */
function modesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    out.set(path, mode(path));
  }
  return out;
}

async function start(dataDir: string): Promise<RunningServer> {
  // The database in its default place: `<data-dir>/streamdelta.db`.
  return startServer(loadConfig({ httpHost: '127.0.0.1', httpPort: '0', rtmpPort: '0', dataDir, logLevel: 'silent' }, {}));
}

describe('data at rest is private', () => {
  let root: string;
  let umask: number;
  before(() => {
    umask = process.umask(0o022);
    root = mkdtempSync(join(tmpdir(), 'streamdelta-private-'));
  });
  after(() => {
    process.umask(umask);
    rmSync(root, { recursive: true, force: true });
  });

  it('makes the data directory 0700, the database, its WAL and shared memory 0600, and blobs 0600 in 0700 folders', async () => {
    const dataDir = join(root, 'fresh', 'data');
    const running = await start(dataDir);
    try {
      const server = { running } as TestServer;
      const { scope } = await uploadStream(server);
      await running.uploadIngest.put(scope, 'thumb.jpg', Buffer.from('a private picture'), THUMB_META);
      const db = join(dataDir, 'streamdelta.db');
      assert.ok(existsSync(`${db}-wal`) && existsSync(`${db}-shm`), 'the database runs in WAL mode');
      assert.equal(mode(dataDir), '700');
      const modes = modesUnder(dataDir);
      assert.ok([...modes.keys()].some((p) => p.includes(`${join(dataDir, 'media')}`) && statSync(p).isFile()), 'a blob was written');
      for (const [path, got] of modes) assert.equal(got, statSync(path).isDirectory() ? '700' : '600', `${path} is ${got}`);
    } finally {
      await running.close();
    }
  });

  it('tightens a data directory and database that an older version left readable by others', async () => {
    const dataDir = join(root, 'old');
    await (await start(dataDir)).close();
    const db = join(dataDir, 'streamdelta.db');
    chmodSync(dataDir, 0o755);
    chmodSync(db, 0o644);
    const running = await start(dataDir);
    try {
      await running.core.accounts.create({ username: 'after-upgrade', password: 'correct horse battery' });
      assert.equal(mode(dataDir), '700');
      for (const path of [db, `${db}-wal`, `${db}-shm`]) assert.equal(mode(path), '600', path);
    } finally {
      await running.close();
    }
  });

  describe('a bundle download', () => {
    let http: Server;
    let url: string;
    before(async () => {
      http = createServer((_req, res) => res.end('PK a bundle'));
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/app.zip`;
    });
    after(() => new Promise<void>((resolve) => http.close(() => resolve())));

    it('is written 0600', async () => {
      const file = join(root, 'bundle.zip');
      await downloadToFile(url, file, { maxBytes: 1024, timeoutMs: 5000, maxRedirects: 0, egress: new EgressPolicy(true) });
      assert.equal(readFileSync(file, 'utf8'), 'PK a bundle');
      assert.equal(mode(file), '600');
    });
  });
});
