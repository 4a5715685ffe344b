/**
 * The site commands of the CLI (`streamdelta site create|list|revoke|theme`), run as a separate
 * process on a test database, and a server on the same database that takes the key and
 * secret they printed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../helpers/cli.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { assertCode, assertOk, call, Code, createSession, descendants, leafFields, type SiteCredentials } from './support.js';

const HEX32 = /^[0-9a-f]{32}$/;

for (const kind of databaseKinds()) {
  describe(`streamdelta site commands on ${kind}`, () => {
    let database: TestDatabase;
    let env: Record<string, string>;
    let server: TestServer | undefined;
    let created: SiteCredentials;
    before(async () => {
      database = await createTestDatabase(kind);
      env = { DATABASE_URL: database.url };
    });
    after(async () => {
      await server?.close();
      await database.drop();
    });

    it('site create NAME --callback-url URL --json prints {"key","secret"} and nothing else', async () => {
      const r = await runCli(['site', 'create', 'Band Stock', '--callback-url', 'https://example.com/streamapi/callback', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1, r.stdout);
      const json = JSON.parse(lines[0]!) as Record<string, string>;
      assert.deepEqual(Object.keys(json), ['key', 'secret']);
      assert.match(json.key!, HEX32);
      assert.match(json.secret!, HEX32);
      assert.notEqual(json.key, json.secret);
      created = { key: json.key!, secret: json.secret! };
    });

    it('site create without --json prints the key and the secret for a person', async () => {
      const r = await runCli(['site', 'create', 'Plain'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /created site Plain/);
      assert.match(r.stdout, /key:\s+[0-9a-f]{32}/);
      assert.match(r.stdout, /secret:\s+[0-9a-f]{32}/);
    });

    it('site create refuses a missing name (status 2) and a callback URL that is not http(s) (status 1)', async () => {
      const missing = await runCli(['site', 'create', '--json'], env);
      assert.equal(missing.code, 2, missing.stderr);
      assert.equal(missing.stdout, '');
      const badUrl = await runCli(['site', 'create', 'Bad', '--callback-url', 'ftp://example.com/x', '--json'], env);
      assert.equal(badUrl.code, 1, badUrl.stderr);
      assert.equal(badUrl.stdout, '');
      assert.match(badUrl.stderr, /callback/i);
    });

    it('site list --json lists the sites with their callback URLs and never a secret', async () => {
      const r = await runCli(['site', 'list', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const sites = (JSON.parse(r.stdout) as { sites: Record<string, unknown>[] }).sites;
      assert.deepEqual(sites.map((s) => s.name).sort(), ['Band Stock', 'Plain']);
      const band = sites.find((s) => s.key === created.key)!;
      assert.equal(band.callbackUrl, 'https://example.com/streamapi/callback');
      assert.equal(band.revokedAt, null);
      assert.ok(!r.stdout.includes(created.secret), 'the secret is not listed');
      const human = await runCli(['site', 'list'], env);
      assert.equal(human.code, 0, human.stderr);
      assert.ok(human.stdout.includes(created.key));
      assert.ok(!human.stdout.includes(created.secret));
    });

    it('site theme KEY adds a theme; bad sizes and unknown keys are refused', async () => {
      const r = await runCli(
        ['site', 'theme', created.key, '--name', 'Stage', '--width', '496', '--height', '469', '--layout-path', '/themes/100/000/866/4/theme_1.xml', '--skin-path', '/themes/100/000/866/4/skin_1.xml', '--json'],
        env,
      );
      assert.equal(r.code, 0, r.stderr);
      const theme = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(typeof theme.id, 'number');
      assert.deepEqual({ ...theme, id: 0 }, { id: 0, name: 'Stage', width: 496, height: 469, layoutPath: '/themes/100/000/866/4/theme_1.xml', skinPath: '/themes/100/000/866/4/skin_1.xml' });

      const badWidth = await runCli(['site', 'theme', created.key, '--name', 'X', '--width', 'wide', '--height', '10', '--layout-path', '/l', '--skin-path', '/s'], env);
      assert.equal(badWidth.code, 1, badWidth.stderr);
      assert.match(badWidth.stderr, /width/);
      const missing = await runCli(['site', 'theme', created.key, '--name', 'X'], env);
      assert.equal(missing.code, 2, missing.stderr);
      const unknown = await runCli(['site', 'theme', 'f'.repeat(32), '--name', 'X', '--width', '1', '--height', '1', '--layout-path', '/l', '--skin-path', '/s'], env);
      assert.equal(unknown.code, 1, unknown.stderr);
    });

    it('a server on the same database takes the printed key and secret and lists the theme', async () => {
      server = await startTestServer(kind, { databaseUrl: database.url });
      const session = await createSession(server, created, { username: 'fromcli' });
      assert.match(session.publicHostId, /^\d+$/);
      const themes = descendants(assertOk(await call(server, created, '/theme/list')), 'theme');
      assert.equal(themes.length, 1);
      const fields = leafFields(themes[0]!);
      assert.deepEqual(fields, { name: 'Stage', width: '496', height: '469', layout_path: '/themes/100/000/866/4/theme_1.xml', skin_path: '/themes/100/000/866/4/skin_1.xml' });
      // A secret it did not print does not sign.
      assertCode(await call(server, { key: created.key, secret: 'f'.repeat(32) }, '/theme/list'), Code.InvalidSig);
    });

    it('site revoke KEY --json revokes the key: the running server refuses it from then on', async () => {
      assertOk(await call(server!, created, '/session/live/list'));
      const r = await runCli(['site', 'revoke', created.key, '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(json).sort(), ['key', 'revokedAt']);
      assert.equal(json.key, created.key);
      assert.ok(typeof json.revokedAt === 'string' && !Number.isNaN(Date.parse(json.revokedAt)), `revokedAt ${String(json.revokedAt)}`);
      assertCode(await call(server!, created, '/session/live/list'), Code.InvalidKey);
      const list = JSON.parse((await runCli(['site', 'list', '--json'], env)).stdout) as { sites: Record<string, unknown>[] };
      assert.equal(list.sites.find((s) => s.key === created.key)!.revokedAt, json.revokedAt);
      const unknown = await runCli(['site', 'revoke', 'f'.repeat(32)], env);
      assert.equal(unknown.code, 1, unknown.stderr);
    });
  });
}
