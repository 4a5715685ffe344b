import type { CoreContext } from '../kernel/context.js';
import type { DomainEvent } from '../kernel/events.js';

/**
 * Answers of the database kept in memory by key until an event says they changed: what every
 * playlist and segment request asks (is this stream private, what does this playback id play)
 * is asked thousands of times a second and changes rarely. Each answer is kept as the promise
 * of it, so that concurrent requests share one query and an answer dropped while its query
 * was still running is never kept: a request after the event always asks the database again.
 * Missing things (undefined) are not kept, since their creation has no event here. Bounded:
 * past `max` keys the oldest go first.
 */
export class KeptAnswers<T> {
  private readonly answers = new Map<string, Kept<T>>();

  constructor(private readonly max = 10_000) {}

  get(key: string, ask: () => Promise<T | undefined>): Promise<T | undefined> {
    const kept = this.answers.get(key);
    if (kept) return kept.answer;
    const entry: Kept<T> = { answer: ask(), settled: false, value: undefined };
    this.answers.set(key, entry);
    if (this.answers.size > this.max) this.answers.delete(this.answers.keys().next().value!);
    entry.answer.then(
      (value) => {
        entry.settled = true;
        entry.value = value;
        if (value === undefined) this.drop(key, entry);
      },
      () => this.drop(key, entry),
    );
    return entry.answer;
  }

  forget(key: string): void {
    this.answers.delete(key);
  }

  /** Drops every answer that matches, and every one still being asked (asked before the change). */
  forgetWhere(matches: (value: T) => boolean): void {
    for (const [key, entry] of this.answers) {
      if (!entry.settled || entry.value === undefined || matches(entry.value)) this.answers.delete(key);
    }
  }

  private drop(key: string, entry: Kept<T>): void {
    if (this.answers.get(key) === entry) this.answers.delete(key);
  }
}

interface Kept<T> {
  answer: Promise<T | undefined>;
  settled: boolean;
  value: T | undefined;
}

/**
 * Calls `forget` with every event of the core, on this node as soon as it is emitted here
 * (before the call that made the change returns, so the very next request sees it) and from the
 * bus (the changes made on other nodes).
 */
export function onEveryEvent(ctx: CoreContext, forget: (event: DomainEvent) => void): void {
  ctx.observers?.add(forget);
  ctx.bus.subscribe(forget);
}
