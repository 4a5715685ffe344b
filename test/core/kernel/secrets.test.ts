import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newStreamKey, secretsEqual, secretDigest } from '../../../src/core/kernel/ids.js';
import { hashPassword, verifyPassword } from '../../../src/core/accounts/passwords.js';

describe('stream keys', () => {
  it('are 22 URL-safe characters carrying 128 random bits, never repeating', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const key = newStreamKey();
      assert.match(key, /^[A-Za-z0-9_-]{22}$/);
      assert.equal(Buffer.from(key, 'base64url').length, 16);
      keys.add(key);
    }
    assert.equal(keys.size, 1000);
  });

  it('are looked up by a digest that is not the key', () => {
    const key = newStreamKey();
    assert.match(secretDigest(key), /^[0-9a-f]{64}$/);
    assert.ok(!secretDigest(key).includes(key));
  });

  it('compare equal only when identical', () => {
    assert.ok(secretsEqual('abc', 'abc'));
    assert.ok(!secretsEqual('abc', 'abd'));
    assert.ok(!secretsEqual('abc', 'abcd'));
  });
});

describe('password hashes', () => {
  it('verify the password they were made from and no other', async () => {
    const hash = await hashPassword('Hop0nTh4tM4ng0Tree');
    assert.match(hash, /^scrypt\$16384\$8\$1\$/);
    assert.ok(!hash.includes('Hop0nTh4tM4ng0Tree'));
    assert.equal(await verifyPassword('Hop0nTh4tM4ng0Tree', hash), true);
    assert.equal(await verifyPassword('Hop0nTh4tM4ng0Tre', hash), false);
  });

  it('are salted: the same password hashes differently each time', async () => {
    assert.notEqual(await hashPassword('same password'), await hashPassword('same password'));
  });

  it('refuse a stored value that is not a hash of theirs', async () => {
    assert.equal(await verifyPassword('x', null), false);
    assert.equal(await verifyPassword('x', 'bcrypt$whatever'), false);
    assert.equal(await verifyPassword('x', ''), false);
  });
});
