import type { ApiClient } from '../../core/dialects/kickflip/oauth-clients.js';
import type { SearchPage } from '../../core/dialects/kickflip/stream-search.js';
import type { TenantStream } from '../../core/dialects/kickflip/tenant-streams.js';
import type { TenantUser } from '../../core/dialects/kickflip/tenant-users.js';
import { objectUrl, type UploadGrant } from '../../core/uploads/credentials.js';

/**
 * Kickflip's JSON, typed as the Android SDK parses it (google-http-client): a JSON null in a
 * number or boolean field throws there, and so does a number in a string field. So a value
 * that is not known is left out, never null; `extra_info` is always a string; dates are UTC
 * `MM/dd/yyyy HH:mm:ss`.
 */
export type Json = Record<string, string | number | boolean | Json[] | undefined>;

export interface Urls {
  /** The server's public base URL, without a trailing slash. */
  publicUrl: string;
  /** `rtmp://host:port/<app>/<key>`: where an RTMP encoder publishes a stream with this key. */
  rtmpUrl(key: string): string;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** An ISO-8601 instant as Kickflip writes dates: `MM/dd/yyyy HH:mm:ss`, UTC. */
export function kickflipDate(iso: string): string {
  const d = new Date(iso);
  return `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCFullYear(), 4)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Drops undefined values so JSON.stringify and key lists agree. */
function compact(json: Json): Json {
  return Object.fromEntries(Object.entries(json).filter(([, v]) => v !== undefined)) as Json;
}

const orUndefined = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

/** The user as its own device sees it: with the uuid that starts its streams. */
export function ownUserJson(client: ApiClient, user: TenantUser): Json {
  return compact({ ...publicUserJson(client, user), uuid: user.uuid, email: orUndefined(user.email) });
}

/** The user as anyone of the client sees it (user/info): no credential, no email. */
export function publicUserJson(client: ApiClient, user: TenantUser): Json {
  return compact({
    success: true,
    app: client.app,
    name: user.username,
    display_name: orUndefined(user.displayName),
    avatar_url: orUndefined(user.avatarUrl),
    extra_info: user.extraInfo ?? '',
  });
}

function uploadUrl(urls: Urls, stream: TenantStream): string | undefined {
  if (stream.uploadBucket === null || stream.uploadPrefix === null) return undefined;
  return objectUrl(urls.publicUrl, stream.uploadBucket, stream.uploadPrefix);
}

/**
 * Where the stream plays, the same URL from stream/start on (apps save it): the playlist of the
 * broadcast stream/start reserved, live while it runs and the whole recording after it.
 */
function streamUrl(urls: Urls, stream: TenantStream): string {
  if (stream.playbackBroadcastId === null) return `${urls.publicUrl}/hls/${stream.id}/vod.m3u8`;
  return `${urls.publicUrl}/hls/${stream.id}/${stream.playbackBroadcastId}/index.m3u8`;
}

export function streamJson(urls: Urls, stream: TenantStream): Json {
  const upload = uploadUrl(urls, stream);
  const end = stream.stoppedAt ?? new Date().toISOString();
  return compact({
    stream_id: stream.id,
    stream_type: 'HLS',
    chat_url: '',
    upload_url: upload,
    stream_url: streamUrl(urls, stream),
    kickflip_url: `${urls.publicUrl}/${stream.id}`,
    thumbnail_url: stream.thumbnailUrl ?? (upload === undefined ? undefined : `${upload}thumb.jpg`),
    lat: orUndefined(stream.latitude),
    lon: orUndefined(stream.longitude),
    start_lat: orUndefined(stream.latitude),
    start_lon: orUndefined(stream.longitude),
    end_lat: orUndefined(stream.endLatitude),
    end_lon: orUndefined(stream.endLongitude),
    city: orUndefined(stream.city),
    state: orUndefined(stream.state),
    country: orUndefined(stream.country),
    private: stream.isPrivate,
    deleted: stream.deleted,
    title: orUndefined(stream.title),
    description: orUndefined(stream.description),
    extra_info: stream.extraInfo ?? '',
    time_started: kickflipDate(stream.createdAt),
    time_finished: stream.stoppedAt === null ? undefined : kickflipDate(stream.stoppedAt),
    length: Math.max(0, Math.floor((Date.parse(end) - Date.parse(stream.createdAt)) / 1000)),
    user_username: stream.ownerUsername,
    is_live: stream.isLive,
  });
}

/** A stream answer (stream/info, change, stop…). */
export function streamAnswer(urls: Urls, stream: TenantStream): Json {
  return { success: true, ...streamJson(urls, stream) };
}

/** stream/start's HlsStream: the stream, its upload credentials, and its RTMP ingest URL. */
export function hlsStreamAnswer(urls: Urls, stream: TenantStream, grant: UploadGrant): Json {
  return {
    success: true,
    ...streamJson(urls, stream),
    upload_url: grant.uploadUrl,
    bucket_name: grant.bucket,
    aws_region: grant.region,
    aws_prefix: grant.prefix,
    aws_access_key: grant.accessKeyId,
    aws_secret_key: grant.secretAccessKey,
    aws_session_token: grant.sessionToken,
    // iOS reads this as the credentials' expiry date.
    aws_duration: kickflipDate(grant.expiresAt),
    rtmp_url: urls.rtmpUrl(stream.key),
  };
}

export function streamListAnswer(urls: Urls, page: SearchPage): Json {
  return {
    success: true,
    streams: page.streams.map((s) => streamJson(urls, s)),
    next_page_available: page.hasNextPage,
    total_items: page.total,
    page_number: page.page,
    results_per_page: page.perPage,
  };
}
