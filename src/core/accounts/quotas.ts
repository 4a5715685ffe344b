import { DomainError } from '../kernel/errors.js';
import type { Repositories } from '../../store/store.js';

/** What an account may hold only so many of, whichever API makes them. */
export type QuotaResource = 'streams' | 'apps' | 'webhooks';

/** The most of each an account may hold; 0 for no limit. */
export type AccountQuotaLimits = Record<QuotaResource, number>;

/**
 * Streams: Kickflip makes one per broadcast, so the default leaves room for years of daily
 * broadcasts; apps are Kickfolio's; webhooks count over all of an account's streams (each stream
 * has at most 20).
 */
export const DEFAULT_ACCOUNT_QUOTAS: AccountQuotaLimits = { streams: 1000, apps: 100, webhooks: 100 };

const NOUNS: Record<QuotaResource, string> = { streams: 'streams', apps: 'apps', webhooks: 'webhooks' };

/** The write would take the account past its quota of `resource`. */
export class QuotaExceededError extends DomainError {
  override readonly name = 'QuotaExceededError';
  constructor(
    readonly resource: QuotaResource,
    readonly limit: number,
  ) {
    super(`Quota reached: an account may hold at most ${limit} ${NOUNS[resource]}`);
  }
}

/**
 * Per-account quotas, enforced where things are made. A check runs inside the write's
 * transaction after taking the account's row lock, so concurrent creations by one account (on
 * any node) take turns and the count each sees includes the others': a burst cannot overshoot.
 */
export class AccountQuotas {
  constructor(readonly limits: AccountQuotaLimits = DEFAULT_ACCOUNT_QUOTAS) {}

  /**
   * In the caller's transaction: locks `accountId`, then refuses (QuotaExceededError) when it
   * would hold more than its limit of `resource` after the write: `held` counts what it holds
   * now and `after` says how many that makes (one more, by default). A write that does not grow
   * the count passes even over a limit lowered since.
   */
  async reserve(
    tx: Repositories,
    accountId: string,
    resource: QuotaResource,
    held: () => Promise<number>,
    after: (held: number) => number = (n) => n + 1,
  ): Promise<void> {
    const limit = this.limits[resource];
    if (limit === 0) return;
    await tx.accounts.lock(accountId);
    const before = await held();
    const total = after(before);
    if (total > limit && total > before) throw new QuotaExceededError(resource, limit);
  }
}
