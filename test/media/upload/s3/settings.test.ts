import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../../../src/config.js';

describe('upload settings', () => {
  test('defaults: bucket streamdelta in us-east-1, a day of validity, ten minutes of grace', () => {
    const config = loadConfig({}, {});
    assert.equal(config.uploadBucket, 'streamdelta');
    assert.equal(config.uploadRegion, 'us-east-1');
    assert.equal(config.uploadCredentialLifetime, 86400);
    assert.equal(config.uploadGrace, 600);
    assert.equal(config.uploadMaxObjectSize, 104857600);
    assert.equal(config.uploadMaxParts, 10000);
  });

  test('flags and environment set them', () => {
    const config = loadConfig({ uploadBucket: 'media.example', uploadGrace: '0' }, { STREAMDELTA_UPLOAD_REGION: 'eu-central-1', STREAMDELTA_UPLOAD_MAX_PARTS: '100' });
    assert.equal(config.uploadBucket, 'media.example');
    assert.equal(config.uploadRegion, 'eu-central-1');
    assert.equal(config.uploadGrace, 0);
    assert.equal(config.uploadMaxParts, 100);
  });

  test('only real AWS region names (the SDKs throw on others, e.g. the iOS typo us-central-1)', () => {
    for (const region of ['us-central-1', 'US-EAST-1', 'local', 'eu-west-9']) {
      assert.throws(() => loadConfig({ uploadRegion: region }, {}), (err: unknown) => err instanceof ConfigError && /--upload-region/.test(err.message), region);
    }
  });

  test('bucket names follow S3 naming rules', () => {
    for (const bucket of ['ab', 'Upper', 'under_score', '-dash', 'dash-', 'a..b', '192.168.1.1', 'x'.repeat(64)]) {
      assert.throws(() => loadConfig({ uploadBucket: bucket }, {}), (err: unknown) => err instanceof ConfigError && /--upload-bucket/.test(err.message), bucket);
    }
  });

  test('limits are bounded', () => {
    assert.throws(() => loadConfig({ uploadMaxParts: '10001' }, {}), ConfigError);
    assert.throws(() => loadConfig({ uploadCredentialLifetime: '10' }, {}), ConfigError);
    assert.throws(() => loadConfig({ uploadMaxObjectSize: '12' }, {}), ConfigError);
  });
});
