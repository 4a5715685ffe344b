import type { DestinationId, StreamId } from './ids.js';
import type { DestinationRow } from '../store/repositories.js';

/** The platforms a destination can point at. The names are rig's, case-sensitive. */
export const DESTINATION_SERVICES = ['YouTube', 'Twitch'] as const;
export type DestinationService = (typeof DESTINATION_SERVICES)[number];

export function isDestinationService(value: string): value is DestinationService {
  return (DESTINATION_SERVICES as readonly string[]).includes(value);
}

/**
 * The ingest base URL of each service. Configurable so that a regional ingest server (or a
 * local receiver in tests) can stand in for the default.
 */
export type IngestServers = Record<DestinationService, string>;

export const DEFAULT_INGEST_SERVERS: IngestServers = {
  YouTube: 'rtmp://a.rtmp.youtube.com/live2',
  Twitch: 'rtmp://live.twitch.tv/app',
};

/** A relay target of a stream. */
export interface Destination {
  id: DestinationId;
  /** The integer id rig and Multistreamer clients see. */
  number: number;
  streamId: StreamId;
  service: DestinationService;
  /** The key the service gave its user: a secret of theirs, shown only to the stream's owner. */
  streamKey: string;
  /** The full RTMP URL to publish to: the service's ingest base, then the key. */
  rtmpUrl: string;
  enabled: boolean;
}

export const DESTINATION_KEY_MAX_LENGTH = 256;
// The key becomes the last path segment of an RTMP URL: printable ASCII, no separators.
const DESTINATION_KEY_SHAPE = /^[\x21-\x7e]+$/;
const URL_SEPARATORS = /[/?#]/;

/** Why a destination key is unusable, or undefined when it is fine. */
export function destinationKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'must not be empty';
  if (key.length > DESTINATION_KEY_MAX_LENGTH) return `must be at most ${DESTINATION_KEY_MAX_LENGTH} characters`;
  if (!DESTINATION_KEY_SHAPE.test(key) || URL_SEPARATORS.test(key)) {
    return 'must be printable ASCII without spaces, "/", "?" or "#"';
  }
  return undefined;
}

export function toDestination(row: DestinationRow, servers: IngestServers): Destination {
  const service = row.service as DestinationService;
  const base = row.url ?? servers[service];
  return {
    id: row.id as DestinationId,
    number: Number(row.number),
    streamId: row.stream_id as StreamId,
    service,
    streamKey: row.stream_key,
    rtmpUrl: `${base.replace(/\/+$/, '')}/${row.stream_key}`,
    enabled: row.enabled === 1,
  };
}
