import type { AccountId, DestinationId, StreamId } from '../kernel/ids.js';
import type { DestinationRow } from '../../store/repositories/relays.js';
import { parsePublishUrl, PublishUrlError, redactPublishUrl } from './publish-url.js';

/**
 * The platforms a destination can point at. The names are rig's, case-sensitive; `RTMP` is an
 * extension whose stream key is a whole `rtmp://` or `rtmps://` publish URL, used as is.
 */
export const DESTINATION_SERVICES = ['YouTube', 'Twitch', 'RTMP'] as const;
export type DestinationService = (typeof DESTINATION_SERVICES)[number];

export function isDestinationService(value: string): value is DestinationService {
  return (DESTINATION_SERVICES as readonly string[]).includes(value);
}

/**
 * The ingest base URL of each service. Configurable so that a regional ingest server (or a
 * local receiver in tests) can stand in for the default.
 */
export type IngestServers = Record<Exclude<DestinationService, 'RTMP'>, string>;

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
  /** Arguments for an ffmpeg child that transcodes before pushing; null for a plain relay. */
  ffmpegArgs: string[] | null;
  /**
   * Whose secret the key is when it is not the stream owner's own (a network account shared
   * with them, or one a sharee attached); null: the stream owner's.
   */
  keyOwnerId: AccountId | null;
  /** The owner's own text (a simulcast target's passthrough), or null. */
  passthrough: string | null;
}

/** Whether the destination's key is a secret of someone other than `accountId`, the stream's owner or a viewer. */
export function keyBelongsToAnother(d: Destination, accountId: AccountId): boolean {
  return d.keyOwnerId !== null && d.keyOwnerId !== accountId;
}

/**
 * The destination as the stream's owner `viewer` may see it: another person's key hidden (the
 * publish URL without its stream name), their own shown whole.
 */
export function destinationSeenBy(d: Destination, viewer: AccountId): Destination {
  if (!keyBelongsToAnother(d, viewer)) return d;
  const hidden = redactPublishUrl(d.rtmpUrl);
  return { ...d, streamKey: hidden, rtmpUrl: hidden };
}

export const DESTINATION_KEY_MAX_LENGTH = 256;
// The key becomes the last path segment of an RTMP URL: printable ASCII, no separators.
const DESTINATION_KEY_SHAPE = /^[\x21-\x7e]+$/;
const URL_SEPARATORS = /[/?#]/;

/** Why a destination key is unusable for the service, or undefined when it is fine. */
export function destinationKeyProblem(service: DestinationService, key: string): string | undefined {
  if (service === 'RTMP') {
    try {
      parsePublishUrl(key);
      return undefined;
    } catch (err) {
      return err instanceof PublishUrlError ? err.message : 'must be an rtmp:// or rtmps:// URL';
    }
  }
  if (key.length === 0) return 'must not be empty';
  if (key.length > DESTINATION_KEY_MAX_LENGTH) return `must be at most ${DESTINATION_KEY_MAX_LENGTH} characters`;
  if (!DESTINATION_KEY_SHAPE.test(key) || URL_SEPARATORS.test(key)) {
    return 'must be printable ASCII without spaces, "/", "?" or "#"';
  }
  return undefined;
}

function parseArgs(json: string | null): string[] | null {
  if (json === null) return null;
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : null;
}

/**
 * The publish URL of a custom RTMP destination: its key is the whole URL (rig's `RTMP`), or the
 * key follows a URL kept apart (a simulcast target's `url` and `stream_key`, the key optional).
 */
export function customPublishUrl(url: string | null, key: string): string {
  if (url === null) return key;
  return key === '' ? url : `${url.replace(/\/+$/, '')}/${key}`;
}

export function toDestination(row: DestinationRow, servers: IngestServers): Destination {
  const service = row.service as DestinationService;
  const rtmpUrl = service === 'RTMP' ? customPublishUrl(row.url, row.stream_key) : `${(row.url ?? servers[service]).replace(/\/+$/, '')}/${row.stream_key}`;
  return {
    id: row.id as DestinationId,
    number: Number(row.number),
    streamId: row.stream_id as StreamId,
    service,
    streamKey: row.stream_key,
    rtmpUrl,
    enabled: row.enabled === 1,
    ffmpegArgs: parseArgs(row.ffmpeg_args),
    keyOwnerId: row.key_owner_id as AccountId | null,
    passthrough: row.passthrough,
  };
}
