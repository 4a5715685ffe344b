import type { Bus } from '../bus/bus.js';
import type { Store } from '../store/store.js';
import type { DomainEvent } from './events.js';

/** What every core service is built on. */
export interface CoreContext {
  store: Store;
  bus: Bus<DomainEvent>;
  /** The current time as an ISO-8601 UTC string (injectable so tests can move time). */
  now: () => string;
  /** Reports a failure that must not fail the caller (an event the bus could not carry). */
  onBackgroundError: (err: unknown, what: string) => void;
}

/** Publishes an event after its write has committed; a bus failure is reported, not thrown. */
export async function emit(ctx: CoreContext, event: DomainEvent): Promise<void> {
  try {
    await ctx.bus.publish(event);
  } catch (err) {
    ctx.onBackgroundError(err, `publishing ${event.type}`);
  }
}
