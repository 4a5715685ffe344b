/** The settings of issue 14's limits: the failed-login throttle, per-account quotas, connection limits and timeouts. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config.js';

describe('login throttle settings', () => {
  it('default to 5 failures per account, 20 per address, waits of 1 s doubling to 15 min, forgotten after an hour', () => {
    assert.deepEqual(loadConfig({}, {}, '/srv').login, { maxFailures: 5, maxFailuresPerAddress: 20, maxSignUpsPerAddress: 20, backoffSeconds: 1, backoffMaxSeconds: 900, windowSeconds: 3600 });
  });

  it('take flags and environment variables, 0 turning a count off', () => {
    const config = loadConfig({ loginMaxFailures: '0', loginBackoff: '2' }, { STREAMDELTA_LOGIN_MAX_FAILURES_PER_IP: '0', STREAMDELTA_LOGIN_BACKOFF_MAX: '60', STREAMDELTA_LOGIN_FAILURE_WINDOW: '60' }, '/srv');
    assert.deepEqual(config.login, { maxFailures: 0, maxFailuresPerAddress: 0, maxSignUpsPerAddress: 20, backoffSeconds: 2, backoffMaxSeconds: 60, windowSeconds: 60 });
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['a negative count', { STREAMDELTA_LOGIN_MAX_FAILURES: '-1' }, /STREAMDELTA_LOGIN_MAX_FAILURES must be a whole number from 0/],
    ['a backoff of zero', { STREAMDELTA_LOGIN_BACKOFF: '0' }, /STREAMDELTA_LOGIN_BACKOFF must be a whole number from 1/],
    ['a longest backoff below the first', { STREAMDELTA_LOGIN_BACKOFF: '10', STREAMDELTA_LOGIN_BACKOFF_MAX: '5' }, /STREAMDELTA_LOGIN_BACKOFF_MAX must be at least the login backoff \(10\)/],
    ['a window shorter than the longest wait', { STREAMDELTA_LOGIN_FAILURE_WINDOW: '60' }, /STREAMDELTA_LOGIN_FAILURE_WINDOW must be at least the longest login backoff \(900\)/],
  ];
  for (const [what, env, message] of bad) {
    it(`refuse ${what}, naming the setting`, () => {
      assert.throws(() => loadConfig({}, env, '/srv'), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }
});

describe('quota and connection settings', () => {
  it('default to 1000 streams, 100 apps and 100 webhooks per account, 1024 HTTP and 128 RTMP connections per address, 30/300/72 s timeouts', () => {
    const config = loadConfig({}, {}, '/srv');
    assert.deepEqual(config.quotas, { streams: 1000, apps: 100, webhooks: 100 });
    assert.deepEqual(config.http, { maxConnectionsPerIp: 1024, headersTimeout: 30, requestTimeout: 300, keepAliveTimeout: 72 });
    assert.equal(config.rtmpMaxConnectionsPerIp, 128);
  });

  it('take 0 as no limit', () => {
    const config = loadConfig({ accountMaxStreams: '0', httpMaxConnectionsPerIp: '0', httpHeadersTimeout: '0', httpRequestTimeout: '0', rtmpMaxConnectionsPerIp: '0' }, {}, '/srv');
    assert.equal(config.quotas.streams, 0);
    assert.deepEqual(config.http, { maxConnectionsPerIp: 0, headersTimeout: 0, requestTimeout: 0, keepAliveTimeout: 72 });
    assert.equal(config.rtmpMaxConnectionsPerIp, 0);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['a quota that is not a number', { STREAMDELTA_ACCOUNT_MAX_STREAMS: 'many' }, /STREAMDELTA_ACCOUNT_MAX_STREAMS must be a whole number from 0/],
    ['a request timeout shorter than the header timeout', { STREAMDELTA_HTTP_HEADERS_TIMEOUT: '60', STREAMDELTA_HTTP_REQUEST_TIMEOUT: '30' }, /STREAMDELTA_HTTP_REQUEST_TIMEOUT must be 0 or at least the header timeout \(60\)/],
    ['a keep-alive timeout of zero', { STREAMDELTA_HTTP_KEEP_ALIVE_TIMEOUT: '0' }, /STREAMDELTA_HTTP_KEEP_ALIVE_TIMEOUT must be a whole number from 1/],
  ];
  for (const [what, env, message] of bad) {
    it(`refuse ${what}, naming the setting`, () => {
      assert.throws(() => loadConfig({}, env, '/srv'), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }
});
