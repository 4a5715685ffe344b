import type { Destination } from '../../core/relays/destinations.js';
import type { RelayStatus } from '../../core/kernel/events.js';
import type { Stream, StreamWithDestinations } from '../../core/streams/streams.js';

/** rig's JSON shapes of the core's streams and destinations, field order as rig's documents show it. */
export interface RigDestination {
  id: number;
  service: string;
  streamKey: string;
  rtmpUrl: string;
  isActive: boolean;
}

/**
 * A relay's status as stream detail shows it, in a field rig's clients do not read (they
 * ignore fields they do not know), so they keep working.
 */
export interface RigRelayStatus {
  state: string;
  lastError: string | null;
  bytesSent: number;
  reconnects: number;
  since: string;
}

export interface RigStream {
  id: string;
  streamKey: string;
  destinations: RigDestination[] | null;
  /** Edge provisioning was never built in rig; the field is always null. */
  provisionStatus: null;
  isStreaming: boolean;
  isActive: boolean;
}

export function rigDestination(d: Destination): RigDestination {
  return { id: d.number, service: d.service, streamKey: d.streamKey, rtmpUrl: d.rtmpUrl, isActive: d.enabled };
}

function rigRelayStatus(s: RelayStatus): RigRelayStatus {
  return { state: s.state, lastError: s.lastError, bytesSent: s.bytesSent, reconnects: s.reconnects, since: s.since };
}

/** Create and list show `destinations: null`, as rig did. */
export function rigStream(s: Stream): RigStream {
  return { id: s.id, streamKey: s.key, destinations: null, provisionStatus: null, isStreaming: s.isLive, isActive: s.enabled };
}

/**
 * Stream detail lists the destinations, and an empty list rather than null: the rig
 * dashboard iterates over this field with `for…of`, which throws on null.
 */
export function rigStreamDetail(s: StreamWithDestinations, statusOf: (d: Destination) => RelayStatus): RigStream {
  return {
    ...rigStream(s),
    destinations: s.destinations.map((d) => ({ ...rigDestination(d), status: rigRelayStatus(statusOf(d)) })),
  };
}
