import { deliver, type Bus, type BusEvent, type EventHandler } from './bus.js';

/** The embedded default: events stay inside this process. */
export class MemoryBus<E extends BusEvent = BusEvent> implements Bus<E> {
  private readonly handlers = new Set<EventHandler<E>>();

  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  async publish(event: E): Promise<void> {
    // Delivered on a later tick, as over Redis, so no publisher depends on synchronous delivery.
    queueMicrotask(() => deliver(this.handlers, event, this.onError));
  }

  subscribe(handler: EventHandler<E>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Always able: there is no server to reach. */
  async check(): Promise<void> {}

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
