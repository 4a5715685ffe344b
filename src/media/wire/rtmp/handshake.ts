import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The RTMP handshake: C0+C1 from the client, S0+S1+S2 from the server, then C2. Two forms
 * exist: the simple one (S2 echoes C1) and the digest one that Flash-era clients (and
 * librtmp, OBS, ffmpeg) send, where C1 carries an HMAC-SHA256 digest at a position derived
 * from its own bytes and the server must answer with digests of its own.
 */
export const RTMP_VERSION = 3;
export const HANDSHAKE_SIZE = 1536;

export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
}

const KEY_TAIL = Buffer.from([
  0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d,
  0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
]);
/** "Genuine Adobe Flash Player 001": signs the client's digest. */
const CLIENT_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Player 001', 'latin1'), KEY_TAIL]);
const CLIENT_KEY_SHORT = CLIENT_KEY.subarray(0, 30);
/** "Genuine Adobe Flash Media Server 001": signs the server's digests. */
const SERVER_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Media Server 001', 'latin1'), KEY_TAIL]);
const SERVER_KEY_SHORT = SERVER_KEY.subarray(0, 36);

const DIGEST_SIZE = 32;
/** The version this server announces in a digest handshake (that of a Flash Media Server 3.5). */
const SERVER_VERSION = Buffer.from([0x03, 0x05, 0x01, 0x01]);

function hmac(key: Buffer, ...data: Buffer[]): Buffer {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** Where the digest sits in a 1536-byte C1/S1, for the two schemes clients use. */
function digestOffset(packet: Buffer, scheme: 0 | 1): number {
  const base = scheme === 0 ? 8 : 772;
  const sum = packet[base]! + packet[base + 1]! + packet[base + 2]! + packet[base + 3]!;
  return (sum % 728) + base + 4;
}

function digestAt(packet: Buffer, offset: number, key: Buffer): Buffer {
  return hmac(key, packet.subarray(0, offset), packet.subarray(offset + DIGEST_SIZE));
}

/** The client's digest when C1 carries a valid one, or undefined for a simple handshake. */
export function findClientDigest(c1: Buffer): Buffer | undefined {
  if (c1.length !== HANDSHAKE_SIZE) throw new HandshakeError('C1 must be 1536 bytes');
  for (const scheme of [0, 1] as const) {
    const offset = digestOffset(c1, scheme);
    const expected = digestAt(c1, offset, CLIENT_KEY_SHORT);
    const actual = c1.subarray(offset, offset + DIGEST_SIZE);
    if (timingSafeEqual(expected, actual)) return Buffer.from(actual);
  }
  return undefined;
}

/**
 * S0+S1+S2 answering the client's C0+C1 (1537 bytes). A digest C1 gets a digest answer in
 * the same scheme; any other C1 gets the simple answer.
 */
export function serverHandshake(c0c1: Buffer, now: number = Date.now()): Buffer {
  if (c0c1.length !== 1 + HANDSHAKE_SIZE) throw new HandshakeError('C0+C1 must be 1537 bytes');
  const version = c0c1[0]!;
  // 3 is plain RTMP; 6 and 8 are RTMPE (encrypted), which this server does not speak.
  if (version !== RTMP_VERSION) throw new HandshakeError(`unsupported RTMP version ${version}`);
  const c1 = c0c1.subarray(1);
  const s0 = Buffer.from([RTMP_VERSION]);
  const s1 = randomBytes(HANDSHAKE_SIZE);
  s1.writeUInt32BE(Math.floor(now / 1000) >>> 0, 0);

  const clientVersion = c1.readUInt32BE(4);
  const clientDigest = clientVersion !== 0 ? findClientDigest(c1) : undefined;
  if (!clientDigest) {
    s1.writeUInt32BE(0, 4);
    return Buffer.concat([s0, s1, c1]);
  }

  SERVER_VERSION.copy(s1, 4);
  // The scheme does not need to match the client's; scheme 0 is what servers commonly use.
  const offset = digestOffset(s1, 0);
  digestAt(s1, offset, SERVER_KEY_SHORT).copy(s1, offset);

  const s2 = randomBytes(HANDSHAKE_SIZE);
  const s2Key = hmac(SERVER_KEY, clientDigest);
  hmac(s2Key, s2.subarray(0, HANDSHAKE_SIZE - DIGEST_SIZE)).copy(s2, HANDSHAKE_SIZE - DIGEST_SIZE);
  return Buffer.concat([s0, s1, s2]);
}

/** A client's C0+C1 in the digest form, as Flash Player and librtmp send it (for tests and relays). */
export function clientHandshakeC0C1(digest: boolean, scheme: 0 | 1 = 0): Buffer {
  const c1 = randomBytes(HANDSHAKE_SIZE);
  c1.writeUInt32BE(0, 0);
  if (!digest) {
    c1.writeUInt32BE(0, 4);
  } else {
    c1.writeUInt32BE(0x80000702, 4);
    const offset = digestOffset(c1, scheme);
    digestAt(c1, offset, CLIENT_KEY_SHORT).copy(c1, offset);
  }
  return Buffer.concat([Buffer.from([RTMP_VERSION]), c1]);
}

/** Checks a server's S1 digest, as a digest-handshake client does (for tests and relays). */
export function serverDigestValid(s1: Buffer): boolean {
  if (s1.length !== HANDSHAKE_SIZE) throw new HandshakeError('S1 must be 1536 bytes');
  for (const scheme of [0, 1] as const) {
    const offset = digestOffset(s1, scheme);
    if (timingSafeEqual(digestAt(s1, offset, SERVER_KEY_SHORT), s1.subarray(offset, offset + DIGEST_SIZE))) return true;
  }
  return false;
}

/** Checks S2 against the digest the client put in C1. */
export function serverS2Valid(s2: Buffer, clientDigest: Buffer): boolean {
  if (s2.length !== HANDSHAKE_SIZE) throw new HandshakeError('S2 must be 1536 bytes');
  const key = hmac(SERVER_KEY, clientDigest);
  const expected = hmac(key, s2.subarray(0, HANDSHAKE_SIZE - DIGEST_SIZE));
  return timingSafeEqual(expected, s2.subarray(HANDSHAKE_SIZE - DIGEST_SIZE));
}
