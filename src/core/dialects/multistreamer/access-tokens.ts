import { randomBytes } from 'node:crypto';
import { PLATFORM_TENANT } from '../../accounts/accounts.js';
import type { CoreContext } from '../../kernel/context.js';
import { secretsEqual, secretDigest, type AccountId } from '../../kernel/ids.js';
import type { Repositories } from '../../../store/store.js';

/**
 * Access tokens and integer user ids for APIs in Multistreamer's style: every platform account
 * gets, the first time it is seen there, a small integer id and one token of 20 upper-case hex
 * characters (80 bits from the CSPRNG; the original's shape). The token is kept as issued, so
 * `GET /auth` returns the same token every time as the original did; it is looked up by its
 * sha256 digest and accepted only after a constant-time comparison, like a stream key.
 * A token belongs to the credential version it was made under: after a password change it is
 * refused, and the next `/auth` (with the new password) makes a new one.
 */
export interface AccessUser {
  accountId: AccountId;
  /** The integer id clients see. */
  id: number;
  username: string;
}

export interface AccessProfile extends AccessUser {
  /** A secret: shown to its owner only. */
  accessToken: string;
  createdAt: string;
  updatedAt: string;
}

const TOKEN_SHAPE = /^[0-9A-F]{20}$/;

export function newAccessToken(): string {
  return randomBytes(10).toString('hex').toUpperCase();
}

export class AccessTokenService {
  constructor(private readonly ctx: CoreContext) {}

  /** The account whose token this is (an active platform account), or undefined. */
  async accountOf(token: string): Promise<AccountId | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const row = await this.ctx.store.msUsers.findByDigest(secretDigest(token));
    // The digest found the row; the constant-time comparison is what accepts the token.
    if (!row || !secretsEqual(row.access_token, token)) return undefined;
    const account = await this.ctx.store.accounts.findById(row.account_id);
    if (!account || account.is_active !== 1 || account.tenant !== PLATFORM_TENANT) return undefined;
    // A token made before the last password change is dead.
    return Number(row.credential_version) === Number(account.credential_version) ? (account.id as AccountId) : undefined;
  }

  /**
   * The account's id, token and timestamps, made on first use and made again after a password
   * change; undefined for an unknown or inactive account.
   */
  async profile(accountId: AccountId): Promise<AccessProfile | undefined> {
    const account = await this.ctx.store.accounts.findById(accountId);
    if (!account || account.is_active !== 1 || account.tenant !== PLATFORM_TENANT) return undefined;
    const version = Number(account.credential_version);
    let row = await this.ctx.store.msUsers.findByAccount(accountId);
    if (!row) {
      await this.ctx.store.transaction((tx) => ensureUser(tx, accountId, this.ctx.now()));
      row = await this.ctx.store.msUsers.findByAccount(accountId);
    } else if (Number(row.credential_version) !== version) {
      const token = newAccessToken();
      await this.ctx.store.msUsers.replaceToken(accountId, Number(row.credential_version), { access_token: token, token_digest: secretDigest(token), credential_version: version });
      row = await this.ctx.store.msUsers.findByAccount(accountId);
    }
    if (!row) return undefined;
    return {
      accountId,
      id: Number(row.number),
      username: account.username,
      accessToken: row.access_token,
      createdAt: account.created_at,
      updatedAt: account.updated_at,
    };
  }

  /** Every active platform account with its integer id (ids are given to those without one first). */
  async list(): Promise<AccessUser[]> {
    const missing = await this.ctx.store.msUsers.accountsWithout(PLATFORM_TENANT);
    if (missing.length > 0) {
      await this.ctx.store.transaction(async (tx) => {
        for (const id of missing) await ensureUser(tx, id, this.ctx.now());
      });
    }
    return (await this.ctx.store.msUsers.list(PLATFORM_TENANT)).map(toUser);
  }

  /** The account's integer id if it has been given one (none is made here), else undefined. */
  async idOf(accountId: AccountId): Promise<number | undefined> {
    return (await this.ctx.store.msUsers.byAccounts([accountId])).get(accountId)?.number;
  }

  /** The user with this integer id, or undefined. */
  async byId(id: number): Promise<AccessUser | undefined> {
    if (!Number.isSafeInteger(id) || id < 1) return undefined;
    const row = await this.ctx.store.msUsers.findByNumber(id);
    return row ? toUser(row) : undefined;
  }
}

function toUser(row: { account_id: string; number: number; username: string }): AccessUser {
  return { accountId: row.account_id as AccountId, id: Number(row.number), username: row.username };
}

/**
 * Gives the account its integer id and a token of its current credential version unless it has
 * them (in the caller's transaction).
 */
export async function ensureUser(tx: Repositories, accountId: string, now: string): Promise<void> {
  if (await tx.msUsers.findByAccount(accountId)) return;
  const account = await tx.accounts.findById(accountId);
  if (!account) return;
  const credentialVersion = Number(account.credential_version);
  const token = newAccessToken();
  const number = await tx.sequences.next('ms_user');
  // Two first requests may race; the first stored row is the one both see.
  await tx.msUsers.insertIfNone({ account_id: accountId, number, access_token: token, token_digest: secretDigest(token), credential_version: credentialVersion, created_at: now });
}
