import { randomBytes } from 'node:crypto';
import { ChangeCache } from '../kernel/change-cache.js';
import { emit, type CoreContext } from '../kernel/context.js';
import { NotFoundError, ValidationError } from '../kernel/errors.js';
import { secretDigest, secretsEqual, type AccountId } from '../kernel/ids.js';
import type { AccessTokenRow } from '../../store/repositories/access-tokens.js';
import type { AccountService } from './accounts.js';
import type { AccountScope } from './scope.js';

/** What a token may do: everything its account may, or only read. */
export type TokenPermission = 'full' | 'read';

/** A live API access token as listed: never its secret. */
export interface AccessToken {
  id: string;
  accountId: AccountId;
  name: string | null;
  permission: TokenPermission;
  createdAt: string;
}

/** A token just made: the secret is shown this once and kept only as its digest. */
export interface IssuedAccessToken extends AccessToken {
  secret: string;
}

/** Who a request with valid credentials acts for, and what it may do. */
export interface TokenGrant {
  token: AccessToken;
  scope: AccountScope;
  permission: TokenPermission;
}

export const TOKEN_NAME_MAX_LENGTH = 255;

/** Tokens whose verified grant is kept: enough for every client of a busy server. */
const VERIFIED_CACHE_ENTRIES = 10_000;
/** The longest a verified grant is trusted without a look at the database (see ChangeCache). */
const VERIFIED_CACHE_MAX_AGE_MS = 5_000;

/** A grant found valid, and the digest of the secret that opened it. */
interface Verified {
  secretDigest: string;
  grant: TokenGrant;
}

function toToken(row: AccessTokenRow): AccessToken {
  return { id: row.id, accountId: row.account_id as AccountId, name: row.name, permission: row.permission === 'read' ? 'read' : 'full', createdAt: row.created_at };
}

/**
 * The live API's credentials, as Mux has them: HTTP Basic `token_id:token_secret`, each of one
 * account, full or read-only. The id is not secret (it is listed); the secret (256 bits) is
 * stored as its SHA-256 only, so a copy of the database grants nothing.
 */
export class AccessTokenService {
  /**
   * Credentials verified by id: a request with the same id and secret is answered without the
   * two reads of the database. A revoke, an account change, or any write of another process
   * empties it (ChangeCache), so a revoked token is refused on the very next request.
   */
  private readonly verified: ChangeCache<string, Verified>;

  constructor(
    private readonly ctx: CoreContext,
    private readonly accounts: AccountService,
  ) {
    this.verified = new ChangeCache(ctx, { maxEntries: VERIFIED_CACHE_ENTRIES, maxAgeMs: VERIFIED_CACHE_MAX_AGE_MS });
  }

  async create(accountId: AccountId, options: { name?: string | null; readOnly?: boolean } = {}): Promise<IssuedAccessToken> {
    const name = options.name ?? null;
    if (name !== null && (name.length === 0 || name.length > TOKEN_NAME_MAX_LENGTH)) {
      throw new ValidationError('Invalid token', { name: `must be 1 to ${TOKEN_NAME_MAX_LENGTH} characters` });
    }
    if (!(await this.accounts.get(accountId))) throw new NotFoundError('No such account');
    const id = randomBytes(16).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const permission: TokenPermission = options.readOnly ? 'read' : 'full';
    const createdAt = this.ctx.now();
    await this.ctx.store.accessTokens.insert({ id, account_id: accountId, name, secret_digest: secretDigest(secret), permission, created_at: createdAt, revoked_at: null });
    return { id, accountId, name, permission, createdAt, secret };
  }

  async list(accountId?: AccountId): Promise<AccessToken[]> {
    return (await this.ctx.store.accessTokens.listActive(accountId)).map(toToken);
  }

  /** The scope's tokens (an administrator's scope: every account's). */
  async listIn(scope: AccountScope): Promise<AccessToken[]> {
    return this.list(scope.all ? undefined : scope.accountId);
  }

  /** Revokes a token of the scope's; another account's is as absent as one that never was. */
  async revokeIn(scope: AccountScope, id: string): Promise<void> {
    const row = id.length <= 64 ? await this.ctx.store.accessTokens.findActive(id) : undefined;
    if (!row || !(scope.all || row.account_id === scope.accountId)) throw new NotFoundError('No such access token');
    await this.revoke(id);
  }

  /** Revokes a token: requests with it are refused from now on. NotFoundError when there is no such token. */
  async revoke(id: string): Promise<void> {
    const row = id.length <= 64 ? await this.ctx.store.accessTokens.findActive(id) : undefined;
    if (!row || !(await this.ctx.store.accessTokens.revoke(id, this.ctx.now()))) throw new NotFoundError('No such access token');
    // This node refuses it before the revoke is answered; the event tells the other nodes.
    this.verified.clear();
    await emit(this.ctx, { type: 'access_token.revoked', accountId: row.account_id as AccountId });
  }

  /**
   * What `id:secret` grants, or undefined for unknown, revoked or wrong credentials (and for a
   * token whose account is gone or switched off). The secret is compared in constant time.
   */
  async authenticate(id: string, secret: string): Promise<TokenGrant | undefined> {
    const digest = secretDigest(secret);
    const known = this.verified.get(id);
    if (known !== undefined && secretsEqual(known.secretDigest, digest)) return known.grant;
    const ticket = this.verified.ticket();
    const row = id.length > 0 && id.length <= 64 ? await this.ctx.store.accessTokens.findActive(id) : undefined;
    // Compared even for an unknown id, so the answer's timing says nothing about which ids exist.
    const matches = secretsEqual(row?.secret_digest ?? '', digest);
    if (!row || !matches) return undefined;
    const account = await this.accounts.get(row.account_id);
    if (!account || !account.isActive) return undefined;
    const token = Object.freeze(toToken(row));
    // Shared by every request the cache answers: frozen, so none can change another's.
    const grant: TokenGrant = Object.freeze({ token, scope: Object.freeze({ accountId: account.id, all: account.isAdmin }), permission: token.permission });
    this.verified.set(id, { secretDigest: row.secret_digest, grant }, ticket);
    return grant;
  }
}
