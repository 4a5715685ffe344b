import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  clientHandshakeC0C1,
  findClientDigest,
  HANDSHAKE_SIZE,
  HandshakeError,
  RTMP_VERSION,
  serverDigestValid,
  serverHandshake,
  serverS2Valid,
} from '../../../../src/media/wire/rtmp/handshake.js';

/** S0, S1 and S2 of a server answer. */
function split(answer: Buffer): { s0: number; s1: Buffer; s2: Buffer } {
  assert.equal(answer.length, 1 + 2 * HANDSHAKE_SIZE);
  return { s0: answer[0]!, s1: answer.subarray(1, 1 + HANDSHAKE_SIZE), s2: answer.subarray(1 + HANDSHAKE_SIZE) };
}

/** A simple (version 0) C0+C1: time, four zero bytes, random bytes. */
function simpleC0C1(): Buffer {
  const c1 = randomBytes(HANDSHAKE_SIZE);
  c1.writeUInt32BE(12345, 0);
  c1.writeUInt32BE(0, 4);
  return Buffer.concat([Buffer.from([RTMP_VERSION]), c1]);
}

describe('RTMP handshake', () => {
  it('answers a simple C1 with S0 = 3, a version-0 S1 carrying the time, and S2 echoing C1', () => {
    const c0c1 = simpleC0C1();
    const now = Date.UTC(2024, 0, 1);
    const { s0, s1, s2 } = split(serverHandshake(c0c1, now));
    assert.equal(s0, 3);
    assert.deepEqual(s2, c0c1.subarray(1));
    assert.equal(s1.readUInt32BE(0), Math.floor(now / 1000));
    assert.equal(s1.readUInt32BE(4), 0, 'a simple S1 has zero where a digest S1 has a version');
    assert.equal(serverDigestValid(s1), false, 'a simple S1 carries no server digest');
  });

  for (const scheme of [0, 1] as const) {
    it(`answers a digest C1 (scheme ${scheme}) with a digest S1 and an S2 keyed by the client digest`, () => {
      const c0c1 = clientHandshakeC0C1(true, scheme);
      assert.equal(c0c1.length, 1 + HANDSHAKE_SIZE);
      assert.equal(c0c1[0], RTMP_VERSION);
      const c1 = c0c1.subarray(1);
      assert.notEqual(c1.readUInt32BE(4), 0, 'a digest C1 announces a client version');
      const digest = findClientDigest(c1);
      assert.ok(digest, 'the digest is found');
      assert.equal(digest.length, 32);

      const { s0, s1, s2 } = split(serverHandshake(c0c1));
      assert.equal(s0, 3);
      assert.notEqual(s1.readUInt32BE(4), 0, 'a digest S1 announces a server version');
      assert.equal(serverDigestValid(s1), true);
      assert.equal(serverS2Valid(s2, digest), true);
      // S2 is not an echo in this form, and it is bound to this client's digest.
      assert.notDeepEqual(s2, c1);
      const other = findClientDigest(clientHandshakeC0C1(true, scheme).subarray(1))!;
      assert.equal(serverS2Valid(s2, other), false);
    });
  }

  it('finds the digest of each scheme at its own place, and none in a simple C1', () => {
    assert.equal(findClientDigest(simpleC0C1().subarray(1)), undefined);
    // A random C1 (with a non-zero version) has no valid digest either.
    const random = randomBytes(HANDSHAKE_SIZE);
    random.writeUInt32BE(0x80000702, 4);
    assert.equal(findClientDigest(random), undefined);
  });

  it('falls back to the simple answer for a C1 whose digest is corrupted', () => {
    for (const scheme of [0, 1] as const) {
      const c0c1 = clientHandshakeC0C1(true, scheme);
      const c1 = c0c1.subarray(1);
      const digest = findClientDigest(c1)!;
      // Flip a bit inside the digest itself.
      const at = c1.indexOf(digest);
      assert.ok(at >= 8, 'the digest is inside C1');
      c1[at + 5]! ^= 0x01;
      assert.equal(findClientDigest(c1), undefined);
      const { s0, s1, s2 } = split(serverHandshake(c0c1));
      assert.equal(s0, 3);
      assert.deepEqual(s2, c1, 'simple answer: S2 echoes C1');
      assert.equal(s1.readUInt32BE(4), 0);
      assert.equal(serverDigestValid(s1), false);
    }
  });

  it('falls back to the simple answer when bytes outside the digest are corrupted too', () => {
    const c0c1 = clientHandshakeC0C1(true, 0);
    // Byte 1000 is outside scheme 0's digest (which ends by byte 772) and is signed by it.
    c0c1[1 + 1000]! ^= 0xff;
    assert.equal(findClientDigest(c0c1.subarray(1)), undefined);
    assert.deepEqual(split(serverHandshake(c0c1)).s2, c0c1.subarray(1));
  });

  it('refuses RTMPE (version 6 and 8) and other versions', () => {
    for (const version of [0, 6, 8, 0x47, 255]) {
      const c0c1 = simpleC0C1();
      c0c1[0] = version;
      assert.throws(() => serverHandshake(c0c1), HandshakeError, `version ${version}`);
    }
  });

  it('refuses C0+C1 and C1 of the wrong length', () => {
    const c0c1 = clientHandshakeC0C1(true, 0);
    for (const length of [0, 1, 1536, 1538, 3073]) {
      const bytes = Buffer.alloc(length, c0c1.subarray(0, Math.min(length, c0c1.length)));
      if (length > 0) bytes[0] = RTMP_VERSION;
      assert.throws(() => serverHandshake(bytes), HandshakeError, `C0+C1 of ${length}`);
    }
    for (const length of [0, 1535, 1537]) {
      assert.throws(() => findClientDigest(Buffer.alloc(length)), HandshakeError, `C1 of ${length}`);
    }
  });

  it('refuses an S1 or S2 of the wrong length', () => {
    const c0c1 = clientHandshakeC0C1(true, 0);
    const digest = findClientDigest(c0c1.subarray(1))!;
    const { s1, s2 } = split(serverHandshake(c0c1));
    for (const length of [0, 8, 100, 1535, 1537]) {
      const short = Buffer.alloc(length, s1.subarray(0, Math.min(length, s1.length)));
      assert.throws(() => serverDigestValid(short), HandshakeError, `S1 of ${length}`);
      const shortS2 = Buffer.alloc(length, s2.subarray(0, Math.min(length, s2.length)));
      assert.throws(() => serverS2Valid(shortS2, digest), HandshakeError, `S2 of ${length}`);
    }
  });
});
