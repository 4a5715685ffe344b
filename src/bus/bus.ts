/**
 * Events between the parts of one node, and between nodes. The bus carries any
 * JSON-serializable event with a `type`; `core/events.ts` says which events exist.
 */
export interface BusEvent {
  readonly type: string;
}

export type EventHandler<E extends BusEvent> = (event: E) => void;

export interface Bus<E extends BusEvent = BusEvent> {
  /** Delivers `event` to every subscriber on every node, this one included. */
  publish(event: E): Promise<void>;
  /** Calls `handler` for each event until the returned function is called. */
  subscribe(handler: EventHandler<E>): () => void;
  /** Resolves when the bus can carry events now (its server answers); rejects saying why not. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** Calls each handler, so that one that throws cannot stop the others from hearing the event. */
export function deliver<E extends BusEvent>(
  handlers: Iterable<EventHandler<E>>,
  event: E,
  onError: (err: unknown) => void,
): void {
  for (const handler of handlers) {
    try {
      handler(event);
    } catch (err) {
      onError(err);
    }
  }
}
