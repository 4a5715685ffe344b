import { emit, type CoreContext } from '../kernel/context.js';
import type { RelayStatus } from '../kernel/events.js';
import type { DestinationId, StreamId } from '../kernel/ids.js';

/**
 * The status of every relay, as the media plane reports it. Each change is an event on the
 * bus, and every node's board follows those events, so an API adapter on any node reads the
 * status of a relay that runs on another.
 */
export class RelayStatusBoard {
  private readonly statuses = new Map<DestinationId, RelayStatus>();
  private readonly unsubscribe: () => void;

  constructor(private readonly ctx: CoreContext) {
    this.unsubscribe = ctx.bus.subscribe((event) => {
      if (event.type === 'relay.status') this.remember(event.status);
    });
  }

  private remember(status: RelayStatus): void {
    const known = this.statuses.get(status.destinationId);
    // Events from the bus may arrive after a newer local report; the newest wins.
    if (!known || known.since <= status.since) this.statuses.set(status.destinationId, status);
  }

  /** Records a relay's new status and tells every node. */
  async report(status: RelayStatus): Promise<void> {
    this.remember(status);
    await emit(this.ctx, { type: 'relay.status', status });
  }

  /** The status of a destination's relay; idle when no relay ran since this node started. */
  get(destinationId: DestinationId, streamId: StreamId): RelayStatus {
    return (
      this.statuses.get(destinationId) ?? {
        destinationId,
        streamId,
        state: 'idle',
        lastError: null,
        bytesSent: 0,
        reconnects: 0,
        since: this.ctx.now(),
      }
    );
  }

  close(): void {
    this.unsubscribe();
  }
}
