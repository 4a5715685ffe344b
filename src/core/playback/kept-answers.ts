import { ChangeCache } from '../kernel/change-cache.js';
import type { CoreContext } from '../kernel/context.js';

/** How long a kept answer is trusted at most, as the other caches of the core (ChangeCache). */
const MAX_AGE_MS = 5_000;

/**
 * Answers of the database kept in memory by key until something changes them: what every
 * playlist and segment request asks (is this stream private, what does this playback id play)
 * is asked thousands of times a second and changes rarely. The keeping is a ChangeCache's (every
 * change of this node or another, a write by another process, an age bound), with one thing
 * added: concurrent requests for the same key share one query, as long as nothing changed since
 * it began. Missing things (undefined) are not kept, since their creation may come without an
 * event here.
 */
export class KeptAnswers<T> {
  private readonly cache: ChangeCache<string, T>;
  private readonly asking = new Map<string, { ticket: number; answer: Promise<T | undefined> }>();

  constructor(ctx: CoreContext, maxEntries = 10_000) {
    this.cache = new ChangeCache<string, T>(ctx, { maxEntries, maxAgeMs: MAX_AGE_MS });
  }

  get(key: string, ask: () => Promise<T | undefined>): Promise<T | undefined> {
    const kept = this.cache.get(key);
    if (kept !== undefined) return Promise.resolve(kept);
    const ticket = this.cache.ticket();
    const pending = this.asking.get(key);
    if (pending !== undefined && pending.ticket === ticket) return pending.answer;
    const answer = ask();
    this.asking.set(key, { ticket, answer });
    const done = () => {
      if (this.asking.get(key)?.answer === answer) this.asking.delete(key);
    };
    answer.then(
      (value) => {
        done();
        if (value !== undefined) this.cache.set(key, value, ticket);
      },
      done,
    );
    return answer;
  }
}
