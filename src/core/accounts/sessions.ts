import { randomBytes } from 'node:crypto';
import type { CoreContext } from '../kernel/context.js';
import { ConflictError } from '../kernel/errors.js';
import { secretDigest } from '../kernel/ids.js';
import { PLATFORM_TENANT, type Account, type AccountService } from './accounts.js';
import type { AccountScope } from './scope.js';

/** How long a dashboard sign-in lasts. */
export const SESSION_DAYS = 30;

/** A signed-in browser: who it is, and its secret (the cookie's value, shown only to that browser). */
export interface Session {
  token: string;
  account: Account;
  expiresAt: string;
}

/**
 * Dashboard sessions: sign in with a username and password (throttled and timed as every
 * login is), a random 256-bit cookie kept here as its digest, ended server side at sign-out.
 * The first run makes the first account, an administrator, once in the whole cluster.
 */
export class SessionService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly accounts: AccountService,
  ) {}

  /** No account exists yet: the dashboard asks for the administrator's. */
  async needsAdmin(): Promise<boolean> {
    return !(await this.ctx.store.accounts.anyIn(PLATFORM_TENANT));
  }

  /**
   * The first run: makes the administrator and signs them in. ConflictError once any account
   * exists (made here, by the CLI, or by another API), whoever asks second in a race.
   */
  async setup(username: string, password: string, address: string | undefined): Promise<Session> {
    if (!(await this.needsAdmin())) throw new ConflictError('An account exists already: sign in instead');
    // One claim in the whole cluster: the first to write it makes the administrator.
    const claim = randomBytes(16).toString('hex');
    if ((await this.ctx.store.settings.getOrInit('dashboard:setup', claim)) !== claim) throw new ConflictError('An account exists already: sign in instead');
    let account: Account;
    try {
      account = await this.accounts.create({ username, password, admin: true }, PLATFORM_TENANT, { address });
    } catch (err) {
      // A refused name or password leaves the first run open for another try.
      await this.ctx.store.settings.delete('dashboard:setup');
      throw err;
    }
    return this.open(account);
  }

  /** Signs in: AuthenticationError for a wrong name or password, ThrottledError while they must wait. */
  async login(username: string, password: string, address: string | undefined): Promise<Session> {
    const account = await this.accounts.authenticate(username, password, { address });
    return this.open(account);
  }

  /** Who the cookie signs in, and what they see; undefined for an unknown, ended or expired session. */
  async resolve(token: string): Promise<{ account: Account; scope: AccountScope } | undefined> {
    if (token.length === 0 || token.length > 128) return undefined;
    const row = await this.ctx.store.sessions.findLive(secretDigest(token), this.ctx.now());
    if (!row) return undefined;
    // A password change since the sign-in ends the session, as it ends every token.
    const account = await this.accounts.forToken(row.account_id, Number(row.credential_version));
    if (!account || !account.isActive) return undefined;
    return { account, scope: { accountId: account.id, all: account.isAdmin } };
  }

  /** Signs out: the cookie opens nothing from now on, on every node. */
  async logout(token: string): Promise<void> {
    await this.ctx.store.sessions.end(secretDigest(token), this.ctx.now());
  }

  private async open(account: Account): Promise<Session> {
    const token = randomBytes(32).toString('base64url');
    const now = this.ctx.now();
    const expiresAt = new Date(Date.parse(now) + SESSION_DAYS * 86_400_000).toISOString();
    await this.ctx.store.sessions.insert({ token_digest: secretDigest(token), account_id: account.id, credential_version: account.credentialVersion, created_at: now, expires_at: expiresAt, ended_at: null });
    // Old sessions are forgotten as new ones are made: no timer needed.
    await this.ctx.store.sessions.deleteOver(new Date(Date.parse(now) - SESSION_DAYS * 86_400_000).toISOString());
    return { token, account, expiresAt };
  }
}
