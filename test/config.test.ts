import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { ConfigError, extractSettingFlags, loadConfig } from '../src/config.js';

const cwd = resolve('/srv/streamdelta');

describe('configuration', () => {
  it('runs on embedded defaults with nothing set', () => {
    const config = loadConfig({}, {}, cwd);
    assert.equal(config.httpPort, 8080);
    assert.equal(config.rtmpPort, 1935);
    assert.equal(config.httpHost, '0.0.0.0');
    assert.equal(config.dataDir, join(cwd, 'data'));
    assert.deepEqual(config.database, { kind: 'sqlite', file: join(cwd, 'data', 'streamdelta.db') });
    assert.equal(config.publicUrl, 'http://localhost:8080');
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.jwtSecret, undefined);
    assert.equal(config.rigPrefix, '');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.ingestServers.YouTube, 'rtmp://a.rtmp.youtube.com/live2');
    assert.equal(config.ingestServers.Twitch, 'rtmp://live.twitch.tv/app');
  });

  it('reads environment variables, and flags win over them', () => {
    const env = { STREAMDELTA_HTTP_PORT: '9000', STREAMDELTA_RTMP_PORT: '1940', DATABASE_URL: 'postgres://u:p@db/x', REDIS_URL: 'redis://r:6379' };
    const config = loadConfig({ httpPort: '9100', publicUrl: 'https://live.example.com/' }, env, cwd);
    assert.equal(config.httpPort, 9100);
    assert.equal(config.rtmpPort, 1940);
    assert.deepEqual(config.database, { kind: 'postgres', url: 'postgres://u:p@db/x' });
    assert.equal(config.redisUrl, 'redis://r:6379');
    assert.equal(config.publicUrl, 'https://live.example.com');
  });

  it('reads the viewer admission limits, with defaults', () => {
    assert.deepEqual(loadConfig({}, {}, cwd).admission, { admittedTtlSeconds: 60, refusedTtlSeconds: 10, maxPerStream: 16, maxPerAddress: 4 });
    const env = { STREAMDELTA_ADMISSION_TTL: '30', STREAMDELTA_ADMISSION_REFUSAL_TTL: '0', STREAMDELTA_ADMISSION_MAX_PER_STREAM: '8' };
    assert.deepEqual(loadConfig({ admissionMaxPerIp: '1' }, env, cwd).admission, { admittedTtlSeconds: 30, refusedTtlSeconds: 0, maxPerStream: 8, maxPerAddress: 1 });
    assert.throws(() => loadConfig({}, { STREAMDELTA_ADMISSION_MAX_PER_IP: '0' }, cwd), /STREAMDELTA_ADMISSION_MAX_PER_IP must be a whole number from 1/);
  });

  it('takes flags as --name value and --name=value, leaving the rest to the command', () => {
    const { settings, rest } = extractSettingFlags(['user', '--http-port', '81', 'create', '--data-dir=/x', '--json']);
    assert.deepEqual(settings, { httpPort: '81', dataDir: '/x' });
    assert.deepEqual(rest, ['user', 'create', '--json']);
    assert.throws(() => extractSettingFlags(['serve', '--http-port']), /--http-port needs a value/);
  });

  it('accepts sqlite: paths relative to the working directory and in memory', () => {
    assert.deepEqual(loadConfig({ databaseUrl: 'sqlite:db/s.db' }, {}, cwd).database, { kind: 'sqlite', file: join(cwd, 'db', 's.db') });
    assert.deepEqual(loadConfig({ databaseUrl: 'sqlite::memory:' }, {}, cwd).database, { kind: 'sqlite', file: ':memory:' });
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['a port that is not a number', { STREAMDELTA_HTTP_PORT: 'eighty' }, /STREAMDELTA_HTTP_PORT must be a whole number from 0 to 65535 \(got "eighty"\)/],
    ['a port out of range', { STREAMDELTA_RTMP_PORT: '70000' }, /STREAMDELTA_RTMP_PORT must be a whole number/],
    ['a public URL that is not http', { STREAMDELTA_PUBLIC_URL: 'ftp://x' }, /STREAMDELTA_PUBLIC_URL must be an http/],
    ['an unknown database scheme', { DATABASE_URL: 'mysql://root@localhost/x' }, /DATABASE_URL must be sqlite:PATH or a postgres:\/\/ URL/],
    ['a Redis URL that is not redis', { REDIS_URL: 'http://r' }, /REDIS_URL must be a redis:\/\//],
    ['an unknown log level', { STREAMDELTA_LOG_LEVEL: 'loud' }, /STREAMDELTA_LOG_LEVEL must be one of/],
    ['a prefix with a trailing slash', { STREAMDELTA_RIG_PREFIX: '/rig/' }, /STREAMDELTA_RIG_PREFIX must be empty or a path/],
    ['an ingest base that is not RTMP', { STREAMDELTA_YOUTUBE_INGEST: 'http://a.rtmp.youtube.com/live2' }, /STREAMDELTA_YOUTUBE_INGEST must be an rtmp/],
    ['a tiny body limit', { STREAMDELTA_BODY_LIMIT: '10' }, /STREAMDELTA_BODY_LIMIT must be a whole number from 1024/],
  ];
  for (const [what, env, message] of bad) {
    it(`refuses ${what} with a message naming the setting`, () => {
      assert.throws(() => loadConfig({}, env, cwd), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }

  it('names the flag, not the variable, when the bad value came from a flag', () => {
    assert.throws(() => loadConfig({ httpPort: 'x' }, {}, cwd), /--http-port must be a whole number/);
  });

  it('never prints a secret it refuses', () => {
    assert.throws(
      () => loadConfig({}, { STREAMDELTA_JWT_SECRET: 'short-secret' }, cwd),
      (err: unknown) => err instanceof ConfigError && /at least 32 characters \(got 12\)/.test(err.message) && !err.message.includes('short-secret'),
    );
    assert.throws(
      () => loadConfig({}, { DATABASE_URL: 'mysql://root:hunter2@db/x' }, cwd),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('hunter2'),
    );
  });
});

describe('the README', () => {
  it('lists every setting with its flag and environment variable', async () => {
    const { readFileSync } = await import('node:fs');
    const { SETTINGS } = await import('../src/config.js');
    const readme = readFileSync('README.md', 'utf8');
    for (const setting of Object.values(SETTINGS)) {
      assert.ok(readme.includes(`| \`${setting.flag}\` | \`${setting.env}\` |`), `README lacks ${setting.flag}`);
    }
  });
});
