/**
 * `streamdelta client create|list|revoke` run as a program on the database of a running
 * server: the credentials `create --json` prints get tokens from /o/token, `list` never shows
 * a secret, and `revoke` stops the client's credentials and tokens at once.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../helpers/cli.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { call, ok, tokenReply, type ClientCredentials } from './support.js';

for (const kind of databaseKinds()) {
  describe(`streamdelta client commands on ${kind}`, () => {
    let database: TestDatabase;
    let dataDir: string;
    let env: Record<string, string>;
    let server: TestServer;
    let created: ClientCredentials;
    before(async () => {
      database = await createTestDatabase(kind);
      dataDir = mkdtempSync(join(tmpdir(), 'streamdelta-data-'));
      env = { DATABASE_URL: database.url, STREAMDELTA_DATA_DIR: dataDir };
      server = await startTestServer(kind, {}, { database, dataDir });
    });
    after(async () => {
      await server?.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('client create NAME --json prints exactly {"clientId","clientSecret"}, which get a token', async () => {
      const r = await runCli(['client', 'create', 'My Phone App', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1, r.stdout);
      const json = JSON.parse(lines[0]!) as Record<string, string>;
      assert.deepEqual(Object.keys(json), ['clientId', 'clientSecret']);
      assert.match(json.clientId!, /^[A-Za-z0-9_-]{20,}$/);
      assert.match(json.clientSecret!, /^[A-Za-z0-9_-]{40,}$/);
      created = { clientId: json.clientId!, secret: json.clientSecret! };
      const token = await tokenReply(server, created);
      assert.equal(token.status, 200, token.text);
      const user = ok(await call(server, token.json.access_token, 'user/new', {}, { noBody: true }));
      assert.equal(user.app, 'my-phone-app');
    });

    it('client create without --json prints the credentials for a person; a missing name is a usage error', async () => {
      const r = await runCli(['client', 'create', 'Plain'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /client id:\s+\S+/);
      assert.match(r.stdout, /client secret:\s+\S+/);
      const missing = await runCli(['client', 'create', '--json'], env);
      assert.equal(missing.code, 2);
      assert.equal(missing.stdout, '');
      const unknown = await runCli(['client', 'frobnicate'], env);
      assert.equal(unknown.code, 2);
    });

    it('client list --json lists the clients and never a secret', async () => {
      const r = await runCli(['client', 'list', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const clients = (JSON.parse(r.stdout) as { clients: Record<string, unknown>[] }).clients;
      assert.deepEqual(clients.map((c) => c.name).sort(), ['My Phone App', 'Plain']);
      const mine = clients.find((c) => c.clientId === created.clientId)!;
      assert.equal(mine.revokedAt, null);
      assert.equal(mine.app, 'my-phone-app');
      assert.ok(!r.stdout.includes(created.secret));
      const human = await runCli(['client', 'list'], env);
      assert.ok(human.stdout.includes(created.clientId));
      assert.ok(!human.stdout.includes(created.secret));
    });

    it('client revoke CLIENT_ID: the running server refuses its credentials and its tokens from then on', async () => {
      const token = (await tokenReply(server, created)).json.access_token as string;
      ok(await call(server, token, 'search'));
      const r = await runCli(['client', 'revoke', created.clientId, '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(json.clientId, created.clientId);
      assert.ok(typeof json.revokedAt === 'string' && !Number.isNaN(Date.parse(json.revokedAt)));
      assert.equal((await call(server, token, 'search')).status, 403);
      assert.equal((await tokenReply(server, created)).status, 401);
      const unknown = await runCli(['client', 'revoke', 'no-such-client'], env);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /client/i);
    });
  });
}
