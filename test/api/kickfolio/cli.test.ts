/**
 * `streamdelta token USERNAME [--rotate] [--json]` run as a program, on the database of a
 * running server: the token it shows (once: only its digest is kept) is the one the Kickfolio API
 * takes, and a rotated token replaces the old one at once.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { assertError, basic, kf } from './support.js';

const BIN = join(process.cwd(), 'bin', 'streamdelta.js');

for (const kind of databaseKinds()) {
  describe(`streamdelta token on ${kind}`, () => {
    let database: TestDatabase;
    let dataDir: string;
    let env: Record<string, string>;
    let server: TestServer;
    const run = (...args: string[]) => {
      const result = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    };
    const get = (token: string) => kf(server, 'GET', '/api/apps', { user: null, headers: { authorization: basic(token) } });

    before(async () => {
      database = await createTestDatabase(kind);
      dataDir = mkdtempSync(join(tmpdir(), 'streamdelta-data-'));
      env = { DATABASE_URL: database.url, STREAMDELTA_DATA_DIR: dataDir };
      server = await startTestServer(kind, {}, { database, dataDir });
      const created = run('user', 'create', '--username', 'tokenuser', '--password', 'correct horse battery');
      assert.equal(created.code, 0, created.stderr);
    });
    after(async () => {
      await server.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    let shown = '';

    it('makes the token and shows it once, as one JSON object; the API takes it', async () => {
      const first = run('token', 'tokenuser', '--json');
      assert.equal(first.code, 0, first.stderr);
      const lines = first.stdout.trim().split('\n');
      assert.equal(lines.length, 1);
      const { token } = JSON.parse(lines[0]!);
      assert.deepEqual(Object.keys(JSON.parse(lines[0]!)), ['token']);
      assert.match(token, /^[A-Za-z0-9_-]{24}$/);
      assert.equal((await get(token)).status, 200);
      shown = token;
    });

    it('cannot show it again (only its digest is kept): asking again says so and changes nothing', async () => {
      const before = await server.snapshot();
      for (const args of [['token', 'tokenuser', '--json'], ['token', 'tokenuser']]) {
        const again = run(...args);
        assert.equal(again.code, 1);
        assert.equal(again.stdout, '');
        assert.match(again.stderr, /tokenuser already has an API token, kept only as a digest so it cannot be shown again; --rotate replaces it/);
      }
      assert.equal(await server.snapshot(), before);
      assert.equal((await get(shown)).status, 200);
      const rows = await server.running.store.db.selectFrom('api_tokens').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(shown), 'the database holds no copy of the token');
    });

    it('--rotate replaces the token: the running server refuses the old one at once', async () => {
      const rotated = run('token', 'tokenuser', '--rotate', '--json');
      assert.equal(rotated.code, 0, `stderr: ${rotated.stderr}`);
      const { token } = JSON.parse(rotated.stdout);
      assert.notEqual(token, shown);
      assertError(await get(shown), 401, 'unauthorized');
      assert.equal((await get(token)).status, 200);
      const plain = run('token', 'tokenuser', '--rotate');
      assert.match(plain.stdout, /^new API token for tokenuser \(shown only this once; the old one no longer works\): [A-Za-z0-9_-]{24}\n$/);
    });

    it('explains an unknown user (status 1) and a missing name or unknown option (status 2)', () => {
      const unknown = run('token', 'nobody', '--json');
      assert.equal(unknown.code, 1);
      assert.equal(unknown.stdout, '');
      assert.match(unknown.stderr, /No user named nobody/);
      const missing = run('token');
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /token needs a USERNAME/);
      const option = run('token', 'tokenuser', '--bogus');
      assert.equal(option.code, 2);
      assert.match(option.stderr, /Unknown option '--bogus'/);
    });
  });
}
