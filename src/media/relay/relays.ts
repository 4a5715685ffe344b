import type { ConnectionOptions } from 'node:tls';
import type { EgressPolicy } from '../../core/egress/policy.js';
import type { Destination } from '../../core/relays/destinations.js';
import type { RelayStatusBoard } from '../../core/relays/status-board.js';
import type { StreamService } from '../../core/streams/streams.js';
import type { DestinationId, StreamId } from '../../core/kernel/ids.js';
import type { RelayState } from '../../core/kernel/events.js';
import type { LiveStream } from '../live/live-stream.js';
import { Relay, type RelayOptions } from './relay.js';
import { FfmpegTransport, RtmpTransport } from './transport.js';

export interface RelaySetOptions extends RelayOptions {
  tls: ConnectionOptions | undefined;
  ffmpegPath: string;
  /** Where relays may connect: destinations are users' addresses. */
  egress: EgressPolicy;
}

/** What a stream's relays need from the core: its destinations, and where to report their states. */
export interface RelayCore {
  streams: Pick<StreamService, 'destinationsOf'>;
  relays: Pick<RelayStatusBoard, 'report'>;
}

/** What makes two versions of a destination need a new connection. */
function signature(d: Destination): string {
  return JSON.stringify([d.rtmpUrl, d.ffmpegArgs]);
}

/**
 * The relays of one live stream: one per enabled destination, brought in line with the
 * destination list whenever it changes (added, removed, enabled, disabled) while live.
 */
export class RelaySet {
  private readonly relays = new Map<DestinationId, { relay: Relay; signature: string }>();
  /** Bytes sent by the relays of this set that were stopped. */
  private stoppedBytes = 0;

  constructor(
    private readonly streamId: StreamId,
    private readonly live: LiveStream,
    private readonly core: RelayCore,
    private readonly options: RelaySetOptions,
  ) {}

  /** Starts and stops relays to match the stream's enabled destinations. */
  async sync(): Promise<void> {
    const wanted = new Map((await this.core.streams.destinationsOf(this.streamId)).filter((d) => d.enabled).map((d) => [d.id, d]));
    for (const [id, running] of this.relays) {
      const destination = wanted.get(id);
      if (!destination || signature(destination) !== running.signature) {
        running.relay.stop();
        this.stoppedBytes += running.relay.status().bytesSent;
        this.relays.delete(id);
      }
    }
    for (const [id, destination] of wanted) {
      if (this.relays.has(id)) continue;
      const relay = new Relay(
        destination,
        this.live,
        () =>
          destination.ffmpegArgs
            ? new FfmpegTransport(destination.rtmpUrl, destination.ffmpegArgs, this.options.ffmpegPath, this.options)
            : new RtmpTransport(destination.rtmpUrl, this.options),
        (status) => void this.core.relays.report(status),
        this.options,
      );
      this.relays.set(id, { relay, signature: signature(destination) });
      relay.start();
    }
  }

  stopAll(): void {
    for (const { relay } of this.relays.values()) {
      relay.stop();
      this.stoppedBytes += relay.status().bytesSent;
    }
    this.relays.clear();
  }

  /** Bytes sent to destinations by every relay this set ran. */
  bytesSent(): number {
    let bytes = this.stoppedBytes;
    for (const { relay } of this.relays.values()) bytes += relay.status().bytesSent;
    return bytes;
  }

  /** The state of each relay running now. */
  states(): RelayState[] {
    return [...this.relays.values()].map(({ relay }) => relay.status().state);
  }
}
