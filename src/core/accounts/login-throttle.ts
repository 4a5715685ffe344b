import type { CoreContext } from '../kernel/context.js';
import { ThrottledError } from '../kernel/errors.js';
import { secretDigest } from '../kernel/ids.js';
import { clientKey } from '../kernel/addresses.js';

/**
 * How fast passwords may be tried. Each account name and each client address has a count of
 * recent attempts; the first `maxFailures` (`maxFailuresPerAddress`) are free, after that every
 * attempt must wait `backoffSeconds`, doubled with each further one up to `backoffMaxSeconds`.
 * A success clears the account's count (and takes its own attempt off the address's); a count
 * with no attempt for `windowSeconds` is forgotten. 0 for a maximum turns that count off.
 */
export interface LoginThrottleSettings {
  maxFailures: number;
  maxFailuresPerAddress: number;
  /** Sign-ups (rig's open one) from one client address before each further one must wait. */
  maxSignUpsPerAddress: number;
  backoffSeconds: number;
  backoffMaxSeconds: number;
  windowSeconds: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleSettings = {
  maxFailures: 5,
  maxFailuresPerAddress: 20,
  maxSignUpsPerAddress: 20,
  backoffSeconds: 1,
  backoffMaxSeconds: 900,
  windowSeconds: 3600,
};

/** One try of a password: whose (an account name of a tenant) and from where (the client's address, when known). */
export interface LoginAttempt {
  tenant: string;
  username: string;
  address?: string | undefined;
}

/** An attempt that may go ahead. It stays counted as a failure unless it is told it succeeded. */
export interface AdmittedAttempt {
  succeeded(): Promise<void>;
}

/** Concurrent attempts on one key that lose the race to count themselves this many times are refused. */
const MAX_COUNT_RETRIES = 5;

interface Counter {
  kind: 'account' | 'address';
  digest: string;
  /** Attempts counted before the first wait. */
  free: number;
}

/**
 * The one rule against password guessing, for every dialect that takes a password (rig's login
 * and password change, Multistreamer's /auth, Kickflip's users). An attempt is counted before the
 * password is checked, so a burst of concurrent guesses gets no more tries than a sequence of
 * them; it is refused outright (ThrottledError) while its account name or its address has to
 * wait, the right password included, so nothing can be learnt during a wait. The counts are
 * rows of the database, shared by every node of a cluster.
 */
export class LoginThrottle {
  constructor(
    private readonly ctx: CoreContext,
    private readonly settings: LoginThrottleSettings = DEFAULT_LOGIN_THROTTLE,
  ) {}

  /**
   * Counts the attempt, or refuses it with ThrottledError (counting nothing) while its account
   * name or its address must wait.
   */
  async admit(attempt: LoginAttempt): Promise<AdmittedAttempt> {
    const counters = this.counters(attempt);
    const taken: Counter[] = [];
    try {
      for (const counter of counters) {
        await this.take(counter);
        taken.push(counter);
      }
    } catch (err) {
      // The address counted the attempt but the account name refused it: it was never tried.
      for (const counter of taken) await this.ctx.store.loginAttempts.release(counter.digest);
      throw err;
    }
    return {
      succeeded: async () => {
        // The account's owner is back: its count starts again. The address keeps the others' attempts.
        for (const counter of counters) {
          if (counter.kind === 'account') await this.ctx.store.loginAttempts.delete(counter.digest);
          else await this.ctx.store.loginAttempts.release(counter.digest);
        }
      },
    };
  }

  /**
   * Counts a sign-up from `address`, or refuses it with ThrottledError while that address must
   * wait: past `maxSignUpsPerAddress` it waits as failed logins do, on a count of its own, and a
   * sign-up that worked still counts (accounts are what a flood of sign-ups is after,
   * to multiply per-account quotas or to learn which names are taken).
   */
  async admitSignUp(address: string): Promise<void> {
    if (this.settings.maxSignUpsPerAddress === 0) return;
    try {
      await this.take({ kind: 'address', digest: secretDigest(`signup:${clientKey(address)}`), free: this.settings.maxSignUpsPerAddress });
    } catch (err) {
      if (!(err instanceof ThrottledError)) throw err;
      throw new ThrottledError(`Too many sign-ups from this address: try again in ${err.retryAfter} s`, err.retryAfter);
    }
  }

  /**
   * The counts an attempt takes a slot of: its address's first, so that an address that must wait
   * adds nothing to the count of the account it guesses at, then its account name's.
   */
  private counters(attempt: LoginAttempt): Counter[] {
    const counters: Counter[] = [];
    if (this.settings.maxFailuresPerAddress > 0 && attempt.address) {
      counters.push({ kind: 'address', digest: secretDigest(`address:${clientKey(attempt.address)}`), free: this.settings.maxFailuresPerAddress });
    }
    if (this.settings.maxFailures > 0) {
      counters.push({ kind: 'account', digest: secretDigest(`account:${attempt.tenant}:${attempt.username}`), free: this.settings.maxFailures });
    }
    return counters;
  }

  /** Seconds an attempt must wait after `attempts` counted ones. */
  private delayAfter(attempts: number, free: number): number {
    if (attempts < free) return 0;
    return Math.min(this.settings.backoffMaxSeconds, this.settings.backoffSeconds * 2 ** Math.min(attempts - free, 32));
  }

  private async take(counter: Counter): Promise<void> {
    for (let round = 0; round < MAX_COUNT_RETRIES; round++) {
      const now = this.ctx.now();
      const nowMs = Date.parse(now);
      const row = await this.ctx.store.loginAttempts.find(counter.digest);
      const forgotten = !row || nowMs - Date.parse(row.last_attempt_at) > this.settings.windowSeconds * 1000;
      if (row && !forgotten && Date.parse(row.next_allowed_at) > nowMs) {
        throw throttled(Math.ceil((Date.parse(row.next_allowed_at) - nowMs) / 1000));
      }
      const attempts = forgotten ? 1 : Number(row!.attempts) + 1;
      const next = {
        attempts,
        last_attempt_at: now,
        next_allowed_at: new Date(nowMs + this.delayAfter(attempts, counter.free) * 1000).toISOString(),
      };
      if (!row) {
        // Counts nobody has used for a while go when a new one starts.
        await this.ctx.store.loginAttempts.deleteIdleSince(new Date(nowMs - this.settings.windowSeconds * 1000).toISOString());
        if (await this.ctx.store.loginAttempts.insertFirst({ key_digest: counter.digest, ...next })) return;
      } else if (await this.ctx.store.loginAttempts.advance(counter.digest, Number(row.attempts), next)) {
        return;
      }
    }
    // Others keep counting on this key right now: this attempt waits its turn like theirs.
    throw throttled(Math.max(1, this.settings.backoffSeconds));
  }
}

function throttled(seconds: number): ThrottledError {
  const retryAfter = Math.max(1, seconds);
  return new ThrottledError(`Too many failed login attempts; try again in ${retryAfter} s`, retryAfter);
}
