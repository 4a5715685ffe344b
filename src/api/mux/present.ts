import type { RecordingView } from '../../core/broadcasts/recordings.js';
import type { RelayState } from '../../core/kernel/events.js';
import type { PlaybackId } from '../../core/playback/playback-ids.js';
import type { SigningKey } from '../../core/playback/signing-keys.js';
import type { LiveStreamView, SimulcastTarget } from '../../core/streams/live-streams.js';
import type { DeliveryAttempt, WebhookEndpoint } from '../../core/webhooks/endpoints.js';

/** Mux writes times as Unix seconds in a string. */
export function unixSeconds(iso: string): string {
  return String(Math.floor(Date.parse(iso) / 1000));
}

export function presentPlaybackId(p: PlaybackId) {
  return { id: p.id, policy: p.policy };
}

const TARGET_STATUS: Record<RelayState, string> = { idle: 'idle', connecting: 'starting', live: 'broadcasting', error: 'errored' };

export function targetStatus(state: RelayState): string {
  return TARGET_STATUS[state];
}

export function presentTarget(t: SimulcastTarget) {
  return {
    id: t.id,
    url: t.url,
    ...(t.streamKey !== '' ? { stream_key: t.streamKey } : {}),
    ...(t.passthrough !== null ? { passthrough: t.passthrough } : {}),
    status: targetStatus(t.state),
  };
}

export function presentLiveStream(s: LiveStreamView) {
  const assets = s.settings.newAssetSettings;
  return {
    id: s.id,
    created_at: unixSeconds(s.createdAt),
    stream_key: s.key,
    status: s.status,
    playback_ids: s.playbackIds.map(presentPlaybackId),
    ...(assets
      ? { new_asset_settings: { playback_policies: assets.playbackPolicies, playback_policy: assets.playbackPolicies, ...(assets.passthrough !== null ? { passthrough: assets.passthrough } : {}) } }
      : {}),
    ...(s.settings.passthrough !== null ? { passthrough: s.settings.passthrough } : {}),
    audio_only: s.settings.audioOnly,
    reconnect_window: s.settings.reconnectWindow ?? 60,
    latency_mode: s.settings.latencyMode,
    max_continuous_duration: s.settings.maxContinuousDuration,
    ...(s.settings.test ? { test: true } : {}),
    simulcast_targets: s.targets.map(presentTarget),
    ...(s.activeBroadcastId !== null ? { active_asset_id: s.activeBroadcastId } : {}),
    recent_asset_ids: s.recentBroadcastIds,
    ...(s.connected ? { active_ingest_protocol: 'rtmp' } : {}),
    meta: s.title !== null ? { title: s.title } : {},
    low_latency: s.settings.latencyMode === 'low',
    reduced_latency: s.settings.latencyMode === 'reduced',
  };
}

/** Mux's resolution names by picture height. */
function resolutionOf(height: number | null): { stored: string; tier: string } {
  if (height === null) return { stored: 'Audio only', tier: 'audio-only' };
  if (height < 720) return { stored: 'SD', tier: '720p' };
  if (height <= 720) return { stored: 'HD', tier: '720p' };
  if (height <= 1080) return { stored: 'FHD', tier: '1080p' };
  if (height <= 1440) return { stored: 'UHD', tier: '1440p' };
  return { stored: 'UHD', tier: '2160p' };
}

function aspectRatio(width: number, height: number): string {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const d = gcd(width, height);
  return `${width / d}:${height / d}`;
}

export function presentAsset(a: RecordingView) {
  const resolution = resolutionOf(a.videoHeight);
  const hasVideo = a.videoWidth !== null && a.videoHeight !== null;
  return {
    id: a.id,
    created_at: unixSeconds(a.startedAt),
    status: a.status,
    duration: Math.round(a.duration * 1000) / 1000,
    max_stored_resolution: resolution.stored,
    resolution_tier: resolution.tier,
    max_resolution_tier: '1080p',
    max_stored_frame_rate: a.frameRate ?? -1,
    ...(hasVideo ? { aspect_ratio: aspectRatio(a.videoWidth!, a.videoHeight!) } : {}),
    live_stream_id: a.streamId,
    is_live: a.isLive,
    playback_ids: a.playbackIds.map(presentPlaybackId),
    ...(a.passthrough !== null ? { passthrough: a.passthrough } : {}),
    ...(a.test ? { test: true } : {}),
    ingest_type: 'live_rtmp',
    master_access: 'none',
    mp4_support: 'none',
    encoding_tier: 'baseline',
    video_quality: 'basic',
    progress: a.isLive ? { state: 'live', progress: -1 } : a.status === 'errored' ? { state: 'errored', progress: -1 } : { state: 'completed', progress: 100 },
    recording_times: [{ started_at: a.startedAt, duration: Math.round(a.duration * 1000) / 1000, type: 'content' }],
    tracks: hasVideo
      ? [{ id: `${a.id}-video`, type: 'video', max_width: a.videoWidth!, max_height: a.videoHeight!, ...(a.frameRate !== null ? { max_frame_rate: a.frameRate } : {}), duration: a.duration }]
      : [],
    ...(a.status === 'errored' ? { errors: { type: 'invalid_input', messages: ['The broadcast ended before any media was recorded'] } } : {}),
  };
}

export function presentSigningKey(k: SigningKey & { privateKey?: string }) {
  return { id: k.id, created_at: unixSeconds(k.createdAt), ...(k.privateKey !== undefined ? { private_key: k.privateKey } : {}) };
}

export function presentWebhook(w: WebhookEndpoint & { secret?: string }) {
  return {
    id: w.id,
    address: w.url,
    url: w.url,
    events: w.events,
    enabled: w.enabled,
    created_at: w.createdAt,
    ...(w.secret !== undefined ? { signing_secret: w.secret } : {}),
  };
}

export function presentDelivery(d: DeliveryAttempt) {
  return { id: d.id, event_type: d.eventType, event_id: d.eventId, response_status_code: d.statusCode, duration_ms: d.durationMs, error: d.error, created_at: d.at };
}
