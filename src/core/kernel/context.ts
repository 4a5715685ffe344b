import type { Bus } from '../../bus/bus.js';
import type { Store } from '../../store/store.js';
import type { DomainEvent } from './events.js';

/** Hears the events that happen on this node, once each, before the bus spreads them. */
export type LocalObserver = (event: DomainEvent) => Promise<void> | void;

/** What every core service is built on. */
export interface CoreContext {
  store: Store;
  bus: Bus<DomainEvent>;
  /** The current time as an ISO-8601 UTC string (injectable so tests can move time). */
  now: () => string;
  /** Reports a failure that must not fail the caller (an event the bus could not carry). */
  onBackgroundError: (err: unknown, what: string) => void;
  /**
   * Work that must happen once per event in the whole cluster (queueing a callback to a site),
   * which a bus subscriber, run on every node, cannot promise.
   */
  observers?: Set<LocalObserver>;
}

/** Publishes an event after its write has committed; a bus failure is reported, not thrown. */
export async function emit(ctx: CoreContext, event: DomainEvent): Promise<void> {
  for (const observer of ctx.observers ?? []) {
    try {
      await observer(event);
    } catch (err) {
      ctx.onBackgroundError(err, `observing ${event.type}`);
    }
  }
  try {
    await ctx.bus.publish(event);
  } catch (err) {
    ctx.onBackgroundError(err, `publishing ${event.type}`);
  }
}
