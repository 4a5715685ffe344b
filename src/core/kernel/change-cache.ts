import type { CoreContext } from './context.js';
import type { DomainEvent, DomainEventType } from './events.js';

/**
 * Events that change no stored answer a cache keeps: frequent reports of the media plane, chat,
 * logs. Every other event empties a ChangeCache, so an event added later is safe by default.
 */
export const NEVER_INVALIDATING: ReadonlySet<DomainEventType> = new Set<DomainEventType>([
  'segment.written',
  'relay.status',
  'chat.message',
  'chat.deleted',
  'chat.viewcount',
  'live_event.logged',
  'recording.finished',
  'site.theme_added',
  'comment.created',
  'comment.deleted',
  'version.state_changed',
]);

export interface ChangeCacheOptions<K = unknown, V = unknown> {
  /** Entries kept at most; a full cache is emptied (a tiny cache of hot reads, not an LRU). */
  maxEntries: number;
  /**
   * How long an entry is trusted at most, whatever is heard: a bound on staleness should an
   * event be lost (a Redis reconnect) or a write be made where no event is heard (another
   * process on a PostgreSQL database).
   */
  maxAgeMs: number;
  /** Events that leave every entry true; NEVER_INVALIDATING unless told. */
  ignores?: ReadonlySet<DomainEventType>;
  /**
   * For an event among `ignores` that can still make one entry stale (a stream's first segment
   * makes it active): the key of that entry, or undefined when the event changes nothing kept.
   * `peek` shows the entry as kept (undefined when none is). The entry is dropped, and reads in
   * flight are not stored, as for any change.
   */
  staleKeyOf?: (event: DomainEvent, peek: (key: K) => V | undefined) => K | undefined;
}

interface Entry<V> {
  value: V;
  expires: number;
}

/**
 * A small cache of database reads that is emptied by every change that could alter them:
 * - a domain event of this node, at once (a local observer, before the write's request is
 *   answered), and of every other node, as the bus brings it;
 * - a commit to the database by another process (the CLI revoking a token), which the store
 *   tells (SQLite's data version) and which is looked at on every read of the cache;
 * - age, as a last bound.
 * A read that began before a change is not stored after it: `ticket()` is taken before the
 * read, and `set` drops the value when anything emptied the cache in between.
 */
export class ChangeCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private generation = 0;
  private foreignMark: number | undefined;
  private readonly ignores: ReadonlySet<DomainEventType>;
  private readonly unsubscribe: () => void;
  private readonly observer: (event: DomainEvent) => void;

  constructor(
    private readonly ctx: CoreContext,
    private readonly options: ChangeCacheOptions<K, V>,
  ) {
    this.ignores = options.ignores ?? NEVER_INVALIDATING;
    const staleKeyOf = options.staleKeyOf;
    const peek = (key: K) => this.entries.get(key)?.value;
    this.observer = (event) => {
      if (!this.ignores.has(event.type)) this.clear();
      else if (staleKeyOf !== undefined) {
        const key = staleKeyOf(event, peek);
        if (key !== undefined) this.forget(key);
      }
    };
    this.unsubscribe = ctx.bus.subscribe(this.observer);
    ctx.observers?.add(this.observer);
    this.foreignMark = ctx.store.foreignWriteMark();
  }

  get(key: K): V | undefined {
    this.checkForeignWrites();
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (Date.now() >= entry.expires) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Taken before the read whose result will be stored. */
  ticket(): number {
    this.checkForeignWrites();
    return this.generation;
  }

  /** Stores what a read begun at `ticket` found, unless something changed since. */
  set(key: K, value: V, ticket: number): void {
    this.checkForeignWrites();
    if (ticket !== this.generation) return;
    if (this.entries.size >= this.options.maxEntries) this.entries.clear();
    this.entries.set(key, { value, expires: Date.now() + this.options.maxAgeMs });
  }

  /** Forgets one entry, and any read in flight (which may have read what the change replaced). */
  forget(key: K): void {
    this.generation++;
    this.entries.delete(key);
  }

  /** Forgets everything, and any read in flight. */
  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  close(): void {
    this.unsubscribe();
    this.ctx.observers?.delete(this.observer);
    this.clear();
  }

  private checkForeignWrites(): void {
    const mark = this.ctx.store.foreignWriteMark();
    if (mark !== this.foreignMark) {
      this.foreignMark = mark;
      this.clear();
    }
  }
}
