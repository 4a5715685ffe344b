/** The settings of the failed-login throttle: counts per account and per address, the backoff and the window. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config.js';

describe('login throttle settings', () => {
  it('default to 5 failures per account, 20 per address, waits of 1 s doubling to 15 min, forgotten after an hour', () => {
    assert.deepEqual(loadConfig({}, {}, '/srv').login, { maxFailures: 5, maxFailuresPerAddress: 20, backoffSeconds: 1, backoffMaxSeconds: 900, windowSeconds: 3600 });
  });

  it('take flags and environment variables, 0 turning a count off', () => {
    const config = loadConfig({ loginMaxFailures: '0', loginBackoff: '2' }, { STREAMDELTA_LOGIN_MAX_FAILURES_PER_IP: '0', STREAMDELTA_LOGIN_BACKOFF_MAX: '60', STREAMDELTA_LOGIN_FAILURE_WINDOW: '60' }, '/srv');
    assert.deepEqual(config.login, { maxFailures: 0, maxFailuresPerAddress: 0, backoffSeconds: 2, backoffMaxSeconds: 60, windowSeconds: 60 });
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
