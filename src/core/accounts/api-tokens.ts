import { randomBytes } from 'node:crypto';
import type { Account, AccountService } from './accounts.js';
import { PLATFORM_TENANT } from './accounts.js';
import { emit, type CoreContext } from '../kernel/context.js';
import { NotFoundError } from '../kernel/errors.js';
import { secretsEqual, secretDigest, type AccountId, type ApiToken } from '../kernel/ids.js';

/**
 * API tokens: one per account, for APIs whose clients authenticate with a bare token
 * (Kickfolio's `auth_token`). A token is 144 random bits, shown to its owner by an operator
 * (`streamdelta token USERNAME`), kept as issued so it can be shown again, looked up by its
 * sha256 digest and accepted only after a constant-time comparison, like a stream key.
 */

/** Longer presented tokens are refused before they are hashed. */
const MAX_PRESENTED_LENGTH = 256;

/** 18 bytes from the CSPRNG as unpadded base64url: 24 characters from [A-Za-z0-9_-]. */
export function newApiToken(): ApiToken {
  return randomBytes(18).toString('base64url') as ApiToken;
}

export class ApiTokenService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly accounts: AccountService,
  ) {}

  /** The platform account `username` and its token: made on first use, replaced when `rotate` is set. */
  async forUsername(username: string, options: { rotate?: boolean } = {}): Promise<{ account: Account; token: ApiToken; issued: boolean }> {
    const row = await this.ctx.store.accounts.findByUsername(PLATFORM_TENANT, username);
    const account = row ? await this.accounts.get(row.id) : undefined;
    if (!account) throw new NotFoundError(`No user named ${username}`);
    return { account, ...(await this.forAccount(account.id, options)) };
  }

  async forAccount(accountId: AccountId, options: { rotate?: boolean } = {}): Promise<{ token: ApiToken; issued: boolean }> {
    if (!options.rotate) {
      const existing = await this.ctx.store.apiTokens.findByAccount(accountId);
      if (existing) return { token: existing.token as ApiToken, issued: false };
    }
    const token = newApiToken();
    const row = { account_id: accountId, token, token_digest: secretDigest(token), created_at: this.ctx.now() };
    if (options.rotate) {
      await this.ctx.store.apiTokens.replace(row);
    } else {
      // Two first requests may race; the first stored token is the one both return.
      await this.ctx.store.apiTokens.insertIfNone(row);
    }
    const stored = await this.ctx.store.apiTokens.findByAccount(accountId);
    if (!stored) throw new NotFoundError('No such account');
    const issued = stored.token === token;
    if (issued) await emit(this.ctx, { type: 'api_token.issued', accountId, rotated: options.rotate === true });
    return { token: stored.token as ApiToken, issued };
  }

  /** The active account whose token this is, or undefined. */
  async accountFor(presented: string): Promise<Account | undefined> {
    if (presented === '' || presented.length > MAX_PRESENTED_LENGTH) return undefined;
    const row = await this.ctx.store.apiTokens.findByDigest(secretDigest(presented));
    // The digest found the row; the constant-time comparison is what accepts the token.
    if (!row || !secretsEqual(row.token, presented)) return undefined;
    const account = await this.accounts.get(row.account_id);
    return account?.isActive ? account : undefined;
  }
}
