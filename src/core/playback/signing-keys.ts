import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { decodeJwt, decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import type { CoreContext } from '../kernel/context.js';
import { NotFoundError, ValidationError } from '../kernel/errors.js';
import type { AccountId } from '../kernel/ids.js';
import { inScope, ownerFilter, type AccountScope } from '../accounts/scope.js';
import type { SigningKeyRow } from '../../store/repositories/playback.js';

/** A URL signing key as listed: its id and when it was made. */
export interface SigningKey {
  id: string;
  accountId: AccountId;
  createdAt: string;
}

/** A key just made: its private half (a PEM, base64-encoded as Mux hands it out), shown this once. */
export interface IssuedSigningKey extends SigningKey {
  privateKey: string;
}

/** What a playback token is for (`aud`): video (playlists and segments), thumbnails and so on. */
export type PlaybackAudience = 'v' | 't' | 'g' | 's';

/** Why a playback token was refused; never shown to a player beyond "forbidden". */
export type TokenRefusal = 'missing' | 'malformed' | 'unknown key' | 'bad signature' | 'expired' | 'wrong subject' | 'wrong audience';

/** Signing keys one account may hold at once. */
export const MAX_SIGNING_KEYS = 100;

/** The longest a playback token may be: a JWT of a few claims is far shorter. */
const MAX_TOKEN_LENGTH = 4096;

function toKey(row: SigningKeyRow): SigningKey {
  return { id: row.id, accountId: row.account_id as AccountId, createdAt: row.created_at };
}

/**
 * URL signing keys for signed playback, as Mux has them: an RSA key pair per key, the private
 * half handed to the caller once, the public half kept to check playback tokens (RS256 JWTs whose
 * `kid` names the key, `sub` the playback id, `aud` what is played).
 */
export class SigningKeyService {
  constructor(private readonly ctx: CoreContext) {}

  async create(scope: AccountScope): Promise<IssuedSigningKey> {
    if ((await this.ctx.store.signingKeys.list(scope.accountId, MAX_SIGNING_KEYS + 1, 0)).filter((k) => k.account_id === scope.accountId).length >= MAX_SIGNING_KEYS) {
      throw new ValidationError('Too many signing keys', { signing_keys: `an account may hold at most ${MAX_SIGNING_KEYS}: delete one first` });
    }
    // Made off the event loop: an RSA key takes tens of milliseconds of CPU.
    const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
    const id = randomBytes(16).toString('hex');
    const createdAt = this.ctx.now();
    await this.ctx.store.signingKeys.insert({
      id,
      account_id: scope.accountId,
      public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      created_at: createdAt,
    });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    return { id, accountId: scope.accountId, createdAt, privateKey: Buffer.from(pem).toString('base64') };
  }

  async list(scope: AccountScope, limit: number, offset: number): Promise<SigningKey[]> {
    return (await this.ctx.store.signingKeys.list(ownerFilter(scope), limit, offset)).map(toKey);
  }

  async get(scope: AccountScope, id: string): Promise<SigningKey> {
    const row = await this.ctx.store.signingKeys.find(id);
    if (!row || !inScope(scope, row.account_id)) throw new NotFoundError('No such signing key');
    return toKey(row);
  }

  /** Deletes a key: tokens signed with it are refused from now on. */
  async delete(scope: AccountScope, id: string): Promise<void> {
    await this.get(scope, id);
    await this.ctx.store.signingKeys.delete(id);
  }

  /**
   * Checks a playback token for `playbackId` owned by `ownerId`: signed (RS256) by a key of the
   * owner's account (`kid` in the JOSE header, or in the claims as `@mux/mux-node` puts it),
   * `sub` the playback id, `aud` the audience, `exp` in the future. Undefined when it grants
   * playback, else why not.
   */
  async checkPlaybackToken(token: string | undefined, playbackId: string, ownerId: string, audience: PlaybackAudience): Promise<TokenRefusal | undefined> {
    if (token === undefined || token === '') return 'missing';
    if (token.length > MAX_TOKEN_LENGTH) return 'malformed';
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid ?? decodeJwt(token).kid;
    } catch {
      return 'malformed';
    }
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 64) return 'unknown key';
    const row = await this.ctx.store.signingKeys.find(kid);
    // A key of another account signs nothing of this one.
    if (!row || row.account_id !== ownerId) return 'unknown key';
    let claims;
    try {
      const key = await importSPKI(row.public_key, 'RS256');
      ({ payload: claims } = await jwtVerify(token, key, { algorithms: ['RS256'], currentDate: new Date(this.ctx.now()) }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED') return 'expired';
      if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return 'bad signature';
      return 'malformed';
    }
    // A token must say until when it holds: one without `exp` would grant playback forever.
    if (typeof claims.exp !== 'number') return 'expired';
    if (claims.sub !== playbackId) return 'wrong subject';
    const aud = claims.aud;
    if (!(aud === audience || (Array.isArray(aud) && aud.includes(audience)))) return 'wrong audience';
    return undefined;
  }
}
