import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignJWT } from 'jose';
import { isUuid, type AccountId } from '../../core/kernel/ids.js';

/**
 * rig's JWTs: HS256, `{ist, iss, sub, aud: "rig.xplex.me", exp, iat}`. A user token has
 * `ist: "user"`, `iss` = account id, `sub` = username and lives 28 days; an invite token has
 * `ist: "invite"`, `iss` = the inviter's id, `sub` = the invited email and lives 14 days.
 * A user token also carries `ver`, the account's credential version when it was issued (rig's
 * clients ignore claims they do not know), so a password change ends it; a token without one is
 * of version 0, as every account was before its first change.
 */
export const RIG_AUDIENCE = 'rig.xplex.me';
const USER_TOKEN_LIFETIME = '28d';
const INVITE_TOKEN_LIFETIME = '14d';

/** A base64url segment of a compact JWS, unpadded, as RFC 7515 writes it. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** HMAC-SHA256 is 32 bytes. */
const HS256_LENGTH = 32;
/** Refuses bytes that are not UTF-8 rather than guessing (as the JOSE specs require). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A JSON object from a base64url segment, or undefined (not base64url, not UTF-8, not JSON, not an object). */
function jsonSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(UTF8.decode(Buffer.from(segment, 'base64url')));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the claim, when present, is a number (as RFC 7519's NumericDate must be). */
function numericOrAbsent(claims: Record<string, unknown>, name: string): boolean {
  return !Object.hasOwn(claims, name) || typeof claims[name] === 'number';
}

export interface UserClaims {
  accountId: AccountId;
  username: string;
  /** The account's credential version the token was issued under. */
  credentialVersion: number;
}

/** Verified tokens remembered: enough for every client of a busy server. */
const VERIFIED_TOKENS = 10_000;

export class RigTokens {
  private readonly key: Uint8Array;
  /**
   * Tokens whose signature and claims were found valid, by their exact text: a signature checked
   * once stays checked (the key does not change while the server runs), so a token seen again
   * skips the HMAC and the decoding; its times (`exp`, `nbf`) are checked again on every use.
   */
  private readonly verified = new Map<string, Record<string, unknown>>();

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  /**
   * Verifies a token synchronously: the key is symmetric (HS256), so an HMAC computed with
   * node:crypto and compared in constant time does what the asynchronous WebCrypto path of a
   * JOSE library does, without a key import and promises per request. What it accepts is what
   * jose's `jwtVerify` accepts with these options, or less: a compact JWS of three base64url
   * segments; a protected header that is a JSON object with `alg: "HS256"` and no `crit` (no
   * extension is understood); a valid signature; claims that are a JSON object with `exp`,
   * `iss`, `sub` and an `aud` naming rig; `exp` a number in the future; `nbf`, when present, a
   * number not in the future; `iat`, when present, a number.
   */
  private verifyClaims(token: string, now: number): Record<string, unknown> | undefined {
    const first = token.indexOf('.');
    const second = token.indexOf('.', first + 1);
    if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1 || second === token.length - 1) return undefined;
    const header = token.slice(0, first);
    const payload = token.slice(first + 1, second);
    const signature = token.slice(second + 1);
    if (!BASE64URL.test(header) || !BASE64URL.test(payload) || !BASE64URL.test(signature)) return undefined;
    const protectedHeader = jsonSegment(header);
    if (!protectedHeader || protectedHeader.alg !== 'HS256' || Object.hasOwn(protectedHeader, 'crit')) return undefined;
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== HS256_LENGTH) return undefined;
    const expected = createHmac('sha256', this.key).update(token.slice(0, second)).digest();
    if (!timingSafeEqual(given, expected)) return undefined;
    const claims = jsonSegment(payload);
    if (!claims) return undefined;
    for (const required of ['exp', 'iss', 'sub', 'aud']) if (!Object.hasOwn(claims, required)) return undefined;
    const audience = claims.aud;
    if (!(audience === RIG_AUDIENCE || (Array.isArray(audience) && audience.includes(RIG_AUDIENCE)))) return undefined;
    if (!numericOrAbsent(claims, 'iat') || !numericOrAbsent(claims, 'nbf')) return undefined;
    if (typeof claims.nbf === 'number' && claims.nbf > now) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp <= now) return undefined;
    return claims;
  }

  issueUserToken(accountId: AccountId, username: string, credentialVersion: number): Promise<string> {
    return this.sign('user', accountId, username, USER_TOKEN_LIFETIME, { ver: credentialVersion });
  }

  issueInviteToken(inviterId: AccountId, email: string): Promise<string> {
    return this.sign('invite', inviterId, email, INVITE_TOKEN_LIFETIME);
  }

  /** The claims of a valid user token, or undefined for anything else (forged, expired, wrong audience or kind). */
  async verifyUserToken(token: string): Promise<UserClaims | undefined> {
    const payload = await this.verify(token, 'user');
    if (!payload || !isUuid(payload.iss)) return undefined;
    const version = payload.ver ?? 0;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return undefined;
    return { accountId: payload.iss as AccountId, username: payload.sub, credentialVersion: version };
  }

  /** The invited email of a valid invite token, or undefined. */
  async verifyInviteToken(token: string): Promise<string | undefined> {
    return (await this.verify(token, 'invite'))?.sub;
  }

  private sign(kind: 'user' | 'invite', issuer: string, subject: string, lifetime: string, extra: Record<string, number> = {}): Promise<string> {
    return new SignJWT({ ist: kind, ...extra })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(subject)
      .setAudience(RIG_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(lifetime)
      .sign(this.key);
  }

  private verify(token: string, kind: 'user' | 'invite'): { iss: string; sub: string; ver: unknown } | undefined {
    const now = Math.floor(Date.now() / 1000);
    let payload = this.verified.get(token);
    if (payload !== undefined) {
      if ((payload.exp as number) <= now || (typeof payload.nbf === 'number' && payload.nbf > now)) {
        this.verified.delete(token);
        return undefined;
      }
    } else {
      payload = this.verifyClaims(token, now);
      if (payload === undefined) return undefined;
      if (this.verified.size >= VERIFIED_TOKENS) this.verified.clear();
      this.verified.set(token, payload);
    }
    if (payload.ist !== kind || typeof payload.iss !== 'string' || typeof payload.sub !== 'string') return undefined;
    return { iss: payload.iss, sub: payload.sub, ver: payload.ver };
  }
}
