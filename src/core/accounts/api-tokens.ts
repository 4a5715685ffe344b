import { randomBytes } from 'node:crypto';
import type { Account, AccountService } from './accounts.js';
import { PLATFORM_TENANT } from './accounts.js';
import { emit, type CoreContext } from '../kernel/context.js';
import { ConflictError, NotFoundError } from '../kernel/errors.js';
import { secretDigest, secretsEqual, type AccountId, type ApiToken } from '../kernel/ids.js';

/**
 * API tokens: one per account, for APIs whose clients authenticate with a bare token
 * (Kickfolio's `auth_token`). A token is 144 random bits, shown to its owner by an operator
 * (`streamdelta token USERNAME`) once, when it is made, and kept only as its sha256 digest: the
 * server only ever needs to check a token, never to show it again, so a copy of the database
 * reveals none. A lost token is replaced (`rotate`). A token is accepted when its digest is
 * found, the digest of a 144-bit secret being as hard to forge as the secret.
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

  /** The platform account `username` and its new token (see forAccount). */
  async forUsername(username: string, options: { rotate?: boolean } = {}): Promise<{ account: Account; token: ApiToken }> {
    const row = await this.ctx.store.accounts.findByUsername(PLATFORM_TENANT, username);
    const account = row ? await this.accounts.get(row.id) : undefined;
    if (!account) throw new NotFoundError(`No user named ${username}`);
    return { account, ...(await this.forAccount(account.id, options)) };
  }

  /**
   * Makes the account's token, shown here and never again: the first one, or with `rotate` a
   * replacement (the old one stops working at once). Without `rotate`, an account that already
   * has a token gets a ConflictError: that token cannot be shown, only replaced.
   */
  async forAccount(accountId: AccountId, options: { rotate?: boolean } = {}): Promise<{ token: ApiToken }> {
    if (!(await this.accounts.get(accountId))) throw new NotFoundError('No such account');
    const token = newApiToken();
    const row = { account_id: accountId, token_digest: secretDigest(token), created_at: this.ctx.now() };
    if (options.rotate) {
      await this.ctx.store.apiTokens.replace(row);
    } else if (!(await this.ctx.store.apiTokens.insertIfNone(row))) {
      // Two first requests may race: the first stored token is the one that was shown.
      throw new ConflictError('The account already has an API token; it is kept only as a digest and cannot be shown again: rotate it to get a new one');
    }
    await emit(this.ctx, { type: 'api_token.issued', accountId, rotated: options.rotate === true });
    return { token };
  }

  /** The active account whose token this is, or undefined. */
  async accountFor(presented: string): Promise<Account | undefined> {
    if (presented === '' || presented.length > MAX_PRESENTED_LENGTH) return undefined;
    const digest = secretDigest(presented);
    const row = await this.ctx.store.apiTokens.findByDigest(digest);
    // The index found the row; the constant-time comparison is what accepts the token.
    if (!row || !secretsEqual(row.token_digest, digest)) return undefined;
    const account = await this.accounts.get(row.account_id);
    return account?.isActive ? account : undefined;
  }
}
