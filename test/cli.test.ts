import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/databases.js';
import { migrationProvider } from '../src/store/migrations/index.js';

const BIN = join(process.cwd(), 'bin', 'streamdelta.js');

function run(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

for (const kind of databaseKinds()) {
  describe(`admin CLI on ${kind}`, () => {
    let database: TestDatabase;
    let env: Record<string, string>;
    before(async () => {
      database = await createTestDatabase(kind);
      env = { DATABASE_URL: database.url };
    });
    after(() => database.drop());

    it('migrate --json prints the migrations it applied, then none', async () => {
      const first = run(['migrate', '--json'], env);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(JSON.parse(first.stdout), { applied: Object.keys(await migrationProvider.getMigrations()) });
      const again = run(['migrate', '--json'], env);
      assert.deepEqual(JSON.parse(again.stdout), { applied: [] });
    });

    it('user create --json prints one JSON object and nothing else', () => {
      const r = run(['user', 'create', '--username', 'alice', '--password', 'correct horse', '--email', 'alice@example.com', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1);
      const created = JSON.parse(lines[0]!);
      assert.deepEqual(Object.keys(created), ['id', 'username', 'email', 'admin', 'createdAt']);
      assert.equal(created.admin, false);
      assert.match(created.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(created.username, 'alice');
      assert.equal(created.email, 'alice@example.com');
      assert.ok(!r.stdout.includes('correct horse'));
    });

    it('user create without an email works; user list shows both', () => {
      const r = run(['user', 'create', '--username', 'bob', '--password', 'bobs password'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^created user bob \(/);
      const list = run(['user', 'list', '--json'], env);
      const users = JSON.parse(list.stdout).users as { username: string; email: string | null }[];
      assert.deepEqual(users.map((u) => [u.username, u.email]).sort(), [['alice', 'alice@example.com'], ['bob', null]]);
    });

    it('refuses a taken username or email and a bad password, changing nothing', () => {
      const taken = run(['user', 'create', '--username', 'alice', '--password', 'another one', '--json'], env);
      assert.equal(taken.code, 1);
      assert.equal(taken.stdout, '');
      assert.match(taken.stderr, /username is already taken/);
      const email = run(['user', 'create', '--username', 'carol', '--password', 'another one', '--email', 'ALICE@example.com'], env);
      assert.equal(email.code, 1);
      assert.match(email.stderr, /email is already registered/);
      const short = run(['user', 'create', '--username', 'dave', '--password', 'short'], env);
      assert.equal(short.code, 1);
      assert.match(short.stderr, /password must be 8 to 1024 characters/);
      const list = JSON.parse(run(['user', 'list', '--json'], env).stdout);
      assert.equal(list.users.length, 2);
    });

    it('access-token create prints an id and a secret once; list never shows secrets; revoke ends it', async () => {
      const admin = run(['user', 'create', '--username', 'root', '--password', 'root password 1', '--admin', '--json'], env);
      assert.equal(admin.code, 0, admin.stderr);
      assert.equal(JSON.parse(admin.stdout).admin, true);
      const made = run(['access-token', 'create', '--user', 'root', '--name', 'ci', '--read-only', '--json'], env);
      assert.equal(made.code, 0, made.stderr);
      const token = JSON.parse(made.stdout);
      assert.match(token.id, /^[0-9a-f]{32}$/);
      assert.match(token.secret, /^[\w-]{43}$/);
      assert.equal(token.permission, 'read');
      const listed = run(['access-token', 'list', '--json'], env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(!listed.stdout.includes(token.secret), 'the secret is shown only once');
      assert.deepEqual(JSON.parse(listed.stdout).tokens.map((t: { id: string; name: string }) => [t.id, t.name]), [[token.id, 'ci']]);
      const nobody = run(['access-token', 'create', '--user', 'nobody', '--json'], env);
      assert.equal(nobody.code, 1);
      assert.match(nobody.stderr, /no user named "nobody"/);
      const revoked = run(['access-token', 'revoke', token.id, '--json'], env);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.deepEqual(JSON.parse(run(['access-token', 'list', '--json'], env).stdout).tokens, []);
      assert.equal(run(['access-token', 'revoke', token.id], env).code, 1, 'a revoked token is not revoked twice');
    });

    it('explains a missing option or unknown command with exit status 2', () => {
      const missing = run(['user', 'create', '--username', 'erin'], env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /needs --username and --password/);
      const unknown = run(['frobnicate'], env);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown command "frobnicate"/);
    });
  });
}

describe('help', () => {
  it('serve --help (and -h, and help after any command) prints the usage with every setting and starts nothing', () => {
    for (const args of [['serve', '--help'], ['serve', '-h'], ['user', 'create', '--help'], ['--help']]) {
      // A bad setting in the environment must not stop the help: nothing is configured or started.
      const r = run(args, { STREAMDELTA_HTTP_PORT: 'eighty' });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^Usage: streamdelta <command>/);
      assert.match(r.stdout, /--http-port VALUE\s+STREAMDELTA_HTTP_PORT/);
      assert.match(r.stdout, /--allow-private-fetch\s+STREAMDELTA_ALLOW_PRIVATE_FETCH/);
      assert.doesNotMatch(r.stdout, /listening/);
    }
  });
});

describe('configuration errors', () => {
  it('stop the CLI before it starts, naming the setting', () => {
    const r = run(['serve'], { STREAMDELTA_HTTP_PORT: 'eighty' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid configuration: STREAMDELTA_HTTP_PORT must be a whole number/);
  });
});

describe('streamdelta serve', () => {
  it('prints where it listens, serves, keeps stream keys out of its logs, and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'streamdelta-serve-'));
    const child = spawn(process.execPath, [BIN, 'serve', '--http-port', '0', '--rtmp-port', '0', '--http-host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'debug'], {
      env: { ...process.env, DATABASE_URL: '' },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line in: ${output}`)), 15000);
        child.stdout.on('data', () => {
          const match = /streamdelta listening on (http:\/\/[\d.]+:\d+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
      });
      const json = { 'content-type': 'application/json' };
      const password = 'Hop0nTh4tM4ng0Tree';
      await fetch(`${url}/accounts/`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'foobar', password, email: 'f@x.net' }) });
      const login = (await (await fetch(`${url}/accounts/auth/local`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'foobar', password }) })).json()) as any;
      const stream = (await (await fetch(`${url}/streams/`, { method: 'POST', headers: { authorization: `Bearer ${login.payload.token}` } })).json()) as any;
      const key: string = stream.payload.streamKey;
      const config = await fetch(`${url}/agents/config/${key}`);
      assert.equal(config.status, 200);
      await new Promise((r) => setTimeout(r, 200));
      assert.match(output, /request completed/, 'debug level logs each request');
      assert.ok(output.includes('/agents/config/[redacted]'));
      assert.ok(!output.includes(key), 'the stream key reached the log');
      assert.ok(!output.includes(password), 'a password reached the log');

      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(output, /SIGTERM: ending live broadcasts, finishing in-flight requests and shutting down/);
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
