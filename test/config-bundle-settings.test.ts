/** The settings of Kickfolio version processing: the private-fetch switch and the download bounds. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, extractSettingFlags, loadConfig } from '../src/config.js';

describe('bundle processing settings', () => {
  it('default to no private fetches, 256 MiB and 300 seconds', () => {
    const config = loadConfig({}, {}, '/srv');
    assert.equal(config.allowPrivateFetch, false);
    assert.equal(config.bundleMaxBytes, 268435456);
    assert.equal(config.bundleFetchTimeout, 300);
  });

  it('take STREAMDELTA_ALLOW_PRIVATE_FETCH as 1/true or 0/false', () => {
    for (const on of ['1', 'true', 'TRUE']) assert.equal(loadConfig({}, { STREAMDELTA_ALLOW_PRIVATE_FETCH: on }, '/srv').allowPrivateFetch, true);
    for (const off of ['0', 'false']) assert.equal(loadConfig({}, { STREAMDELTA_ALLOW_PRIVATE_FETCH: off }, '/srv').allowPrivateFetch, false);
  });

  it('take --allow-private-fetch alone as on, without eating the next argument', () => {
    const { settings, rest } = extractSettingFlags(['--allow-private-fetch', 'serve', '--bundle-max-bytes', '1024']);
    assert.deepEqual(settings, { allowPrivateFetch: '1', bundleMaxBytes: '1024' });
    assert.deepEqual(rest, ['serve']);
    assert.equal(loadConfig(settings, {}, '/srv').allowPrivateFetch, true);
    assert.deepEqual(extractSettingFlags(['serve', '--allow-private-fetch=0']).settings, { allowPrivateFetch: '0' });
    assert.equal(loadConfig({ allowPrivateFetch: '0' }, { STREAMDELTA_ALLOW_PRIVATE_FETCH: '1' }, '/srv').allowPrivateFetch, false);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['a switch that is neither on nor off', { STREAMDELTA_ALLOW_PRIVATE_FETCH: 'yes please' }, /STREAMDELTA_ALLOW_PRIVATE_FETCH must be 1 or true \(on\), 0 or false \(off\) \(got "yes please"\)/],
    ['a bundle limit below 1 KiB', { STREAMDELTA_BUNDLE_MAX_BYTES: '10' }, /STREAMDELTA_BUNDLE_MAX_BYTES must be a whole number from 1024/],
    ['a timeout of zero', { STREAMDELTA_BUNDLE_FETCH_TIMEOUT: '0' }, /STREAMDELTA_BUNDLE_FETCH_TIMEOUT must be a whole number from 1 to 86400/],
  ];
  for (const [what, env, message] of bad) {
    it(`refuse ${what}, naming the setting`, () => {
      assert.throws(() => loadConfig({}, env, '/srv'), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }
});
