import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
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

export interface UserClaims {
  accountId: AccountId;
  username: string;
  /** The account's credential version the token was issued under. */
  credentialVersion: number;
}

export class RigTokens {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
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

  private async verify(token: string, kind: 'user' | 'invite'): Promise<{ iss: string; sub: string; ver: unknown } | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        audience: RIG_AUDIENCE,
        requiredClaims: ['exp', 'iss', 'sub'],
      });
      if (payload.ist !== kind || typeof payload.iss !== 'string' || typeof payload.sub !== 'string') return undefined;
      return { iss: payload.iss, sub: payload.sub, ver: payload.ver };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return undefined;
      throw err;
    }
  }
}
