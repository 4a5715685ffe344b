/**
 * The probes a load balancer or an orchestrator asks: /healthz (the process answers) and
 * /readyz (every dependency answers and the node is not stopping), on the real server and on
 * the plugin alone with dependencies that fail or hang.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { operationsPlugin, type OperationsOptions } from '../../src/api/operations/plugin.js';
import { NodeMetrics } from '../../src/api/operations/metrics.js';
import { databaseKinds } from '../helpers/databases.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegMissing, makeFlv, tempDir } from '../media/support.js';
import { publish } from '../media/relay/support.js';

/** The value of one series of a Prometheus text exposition, or undefined when it is not there. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

for (const kind of databaseKinds()) {
  const redis = kind === 'postgres' ? process.env.TEST_REDIS_URL : undefined;
  describe(`health and readiness on ${kind}${redis ? ' with Redis' : ''}`, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(kind, redis ? { redisUrl: redis } : {});
    });
    after(async () => {
      await server.close();
    });

    it('answers /healthz, and /readyz with each dependency checked', async () => {
      const health = await server.request('GET', '/healthz');
      assert.equal(health.status, 200);
      assert.deepEqual(health.json, { status: 'ok' });
      assert.equal(health.headers.get('cache-control'), 'no-store');
      const ready = await server.request('GET', '/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.json, { status: 'ready', checks: { database: 'ok', migrations: 'ok', bus: 'ok', blobs: 'ok' } });
      assert.equal((await server.request('HEAD', '/readyz')).status, 200);
    });

    it('serves Prometheus metrics labelled with the node: requests by route and status, the media plane, the process', async () => {
      const node = server.running.config.nodeId;
      await server.request('GET', '/healthz');
      await server.request('GET', '/video/v1/live-streams/nothing-here');
      const reply = await server.request('GET', '/metrics');
      assert.equal(reply.status, 200);
      assert.match(reply.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = reply.text;
      assert.ok((sample(text, 'streamdelta_http_requests_total', { method: 'GET', route: '/healthz', status: '200', node }) ?? 0) >= 1);
      // A route's pattern, never the path asked: ids would make a series each.
      assert.ok(!text.includes('nothing-here'));
      assert.ok((sample(text, 'streamdelta_http_request_duration_seconds_count', { method: 'GET', route: '/healthz', node }) ?? 0) >= 1);
      assert.equal(sample(text, 'streamdelta_live_streams', { node }), 0);
      assert.equal(sample(text, 'streamdelta_viewers', { protocol: 'hls', node }), 0);
      assert.equal(sample(text, 'streamdelta_relay_targets', { status: 'live', node }), 0);
      assert.ok(sample(text, 'process_cpu_user_seconds_total', { node }) !== undefined, 'the process metrics');
      assert.ok(sample(text, 'nodejs_eventloop_lag_seconds', { node }) !== undefined, 'the event loop lag');
    });

    it('turns not ready when the blob store cannot be written, saying which and why without naming paths', async () => {
      const media = join(server.running.config.dataDir, 'media');
      rmSync(media, { recursive: true, force: true });
      // A file where the folder should be: nothing can be stored under it.
      writeFileSync(media, 'not a folder');
      try {
        const ready = await server.request('GET', '/readyz');
        assert.equal(ready.status, 503);
        assert.equal(ready.json.status, 'not ready');
        assert.equal(ready.json.checks.database, 'ok');
        assert.match(ready.json.checks.blobs, /^E[A-Z]+$/, 'a system error code');
        assert.ok(!ready.text.includes(server.running.config.dataDir), 'no path of the machine');
        // Liveness is another question: the process still answers.
        assert.equal((await server.request('GET', '/healthz')).status, 200);
      } finally {
        rmSync(media, { force: true });
      }
      assert.equal((await server.request('GET', '/readyz')).status, 200, 'ready again once the store is');
    });
  });
}

describe('the readiness probe', () => {
  async function probe(options: Partial<OperationsOptions>): Promise<{ status: number; body: any }> {
    const app = Fastify();
    await app.register(operationsPlugin, { checks: {}, stopping: () => false, checkTimeoutMs: 200, metrics: new NodeMetrics('test-node'), metricsToken: undefined, ...options });
    try {
      const reply = await app.inject({ method: 'GET', url: '/readyz' });
      return { status: reply.statusCode, body: reply.json() };
    } finally {
      await app.close();
    }
  }

  it('fails on a dependency that throws, and on one that does not answer in time, and says why', async () => {
    const started = Date.now();
    const { status, body } = await probe({
      checks: {
        fine: async () => {},
        down: async () => {
          throw new Error('connection refused by the server');
        },
        stuck: () => new Promise(() => {}),
      },
    });
    assert.equal(status, 503);
    assert.deepEqual(body, { status: 'not ready', checks: { fine: 'ok', down: 'connection refused by the server', stuck: 'no answer within 200 ms' } });
    assert.ok(Date.now() - started < 5000, 'a stuck dependency does not hold the probe');
  });

  it('answers not ready from the moment the node is stopping, whatever its dependencies', async () => {
    const { status, body } = await probe({ checks: { fine: async () => {} }, stopping: () => true });
    assert.equal(status, 503);
    assert.deepEqual(body, { status: 'stopping', checks: { fine: 'ok' } });
  });
});

describe('metrics of a node taking a publisher, behind a token', { skip: ffmpegMissing }, () => {
  const TOKEN = 'metrics-token-0123456789';
  let server: TestServer;
  const dir = tempDir('streamdelta-metrics-');

  before(async () => {
    server = await startTestServer('sqlite', { metricsToken: TOKEN, hlsSegmentDuration: '1' });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('asks for the token, and counts the live stream, its publisher, its bytes and its segment writes', async () => {
    for (const headers of [{}, { authorization: 'Bearer not the token at all' }] as Record<string, string>[]) {
      const refused = await server.request('GET', '/metrics', { headers });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="metrics"');
      assert.ok(!refused.text.includes(TOKEN));
    }
    const scrape = async () => {
      const reply = await server.request('GET', '/metrics', { token: TOKEN });
      assert.equal(reply.status, 200);
      return reply.text;
    };
    const node = server.running.config.nodeId;
    const account = await server.running.core.accounts.create({ username: 'metrics-owner', password: 'correct horse battery' });
    const stream = await server.running.core.streams.create(account.id);
    const file = `${dir.path}/source.flv`;
    makeFlv(file, 'av', 4);
    const publisher = publish(server.running.rtmpPort, stream.key, file);
    try {
      let text = '';
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        text = await scrape();
        if ((sample(text, 'streamdelta_segment_write_seconds_count', { node }) ?? 0) >= 1) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(sample(text, 'streamdelta_live_streams', { node }), 1);
      assert.equal(sample(text, 'streamdelta_publishers', { node }), 1);
      assert.ok((sample(text, 'streamdelta_segment_write_seconds_count', { node }) ?? 0) >= 1, 'a segment was stored');
      const ingest = sample(text, 'streamdelta_ingest_bytes_total', { node }) ?? 0;
      assert.ok(ingest > 10_000, `${ingest} bytes in`);
      assert.ok((sample(text, 'streamdelta_egress_bytes_total', { to: 'rtmp', node }) ?? 0) > 0, 'the publisher was answered');
      // A counter only grows, reading after reading.
      const later = sample(await scrape(), 'streamdelta_ingest_bytes_total', { node }) ?? 0;
      assert.ok(later >= ingest);
    } finally {
      publisher.kill();
      await publisher.done;
    }
  });
});
