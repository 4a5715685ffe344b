import type { AccountId } from '../kernel/ids.js';

/**
 * Whose objects a caller of the live API sees and changes: its own account's, or, for an
 * administrator, every account's. Another account's object is as absent as one that never was.
 */
export interface AccountScope {
  accountId: AccountId;
  /** An administrator: every account's objects. */
  all: boolean;
}

/** Whether an object owned by `ownerId` is within the scope. */
export function inScope(scope: AccountScope, ownerId: string): boolean {
  return scope.all || scope.accountId === ownerId;
}

/** The owner to filter lists by: the scope's account, or null for every account. */
export function ownerFilter(scope: AccountScope): AccountId | null {
  return scope.all ? null : scope.accountId;
}
