import type { FieldErrors } from '../kernel/errors.js';
import { isPlaybackPolicy, type PlaybackPolicy } from '../playback/playback-ids.js';
import type { StreamRow } from '../../store/repositories/streams.js';

/** How far behind live viewers are: today every mode plays the same HLS; `low` and `reduced` are kept for the packager. */
export type LatencyMode = 'standard' | 'reduced' | 'low';
export const LATENCY_MODES: readonly LatencyMode[] = ['standard', 'reduced', 'low'];

/** Seconds a broadcast waits for its publisher to come back (Mux: 0 to 1800, 60 by default). */
export const RECONNECT_WINDOW = { min: 0, max: 1800, default: 60 } as const;
/** Seconds a broadcast may run before it is ended (Mux: 60 to 43200, 12 hours by default). */
export const MAX_CONTINUOUS_DURATION = { min: 60, max: 43200, default: 43200 } as const;
/** Characters of the owner's own text kept on a stream, a recording or a simulcast target. */
export const PASSTHROUGH_MAX_LENGTH = 255;
/** Characters of a stream's title. */
export const TITLE_MAX_LENGTH = 512;

/** What a stream's recordings are made with. */
export interface NewAssetSettings {
  /** The playback ids each recording gets when it starts. */
  playbackPolicies: PlaybackPolicy[];
  passthrough: string | null;
}

/** A stream's live settings, with the server's defaults filled in where none was set. */
export interface LiveSettings {
  passthrough: string | null;
  /** null: the server's `--reconnect-window`. */
  reconnectWindow: number | null;
  maxContinuousDuration: number;
  latencyMode: LatencyMode;
  audioOnly: boolean;
  test: boolean;
  /** null: recordings get no playback id of their own. */
  newAssetSettings: NewAssetSettings | null;
}

/** The settings a create or an update names; what it leaves out stays as it is. */
export interface LiveSettingsChange {
  title?: string | null;
  passthrough?: string | null;
  reconnectWindow?: number;
  maxContinuousDuration?: number;
  latencyMode?: LatencyMode;
  audioOnly?: boolean;
  test?: boolean;
  newAssetSettings?: NewAssetSettings | null;
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

/** Every rule a settings change breaks, by field name (the live API's names). */
export function liveSettingsProblems(change: LiveSettingsChange): FieldErrors {
  const errors: FieldErrors = {};
  if (change.title !== undefined && change.title !== null && change.title.length > TITLE_MAX_LENGTH) errors['meta.title'] = `must be at most ${TITLE_MAX_LENGTH} characters`;
  if (change.passthrough !== undefined && change.passthrough !== null && change.passthrough.length > PASSTHROUGH_MAX_LENGTH) {
    errors.passthrough = `must be at most ${PASSTHROUGH_MAX_LENGTH} characters`;
  }
  const window = change.reconnectWindow;
  if (window !== undefined && !(typeof window === 'number' && Number.isFinite(window) && window >= RECONNECT_WINDOW.min && window <= RECONNECT_WINDOW.max)) {
    errors.reconnect_window = `must be a number from ${RECONNECT_WINDOW.min} to ${RECONNECT_WINDOW.max}`;
  }
  const longest = change.maxContinuousDuration;
  if (longest !== undefined && !(isInteger(longest) && longest >= MAX_CONTINUOUS_DURATION.min && longest <= MAX_CONTINUOUS_DURATION.max)) {
    errors.max_continuous_duration = `must be an integer from ${MAX_CONTINUOUS_DURATION.min} to ${MAX_CONTINUOUS_DURATION.max}`;
  }
  if (change.latencyMode !== undefined && !LATENCY_MODES.includes(change.latencyMode)) errors.latency_mode = `must be one of ${LATENCY_MODES.join(', ')}`;
  const assets = change.newAssetSettings;
  if (assets) {
    if (!assets.playbackPolicies.every(isPlaybackPolicy)) errors['new_asset_settings.playback_policy'] = 'must be public or signed';
    if (assets.passthrough !== null && assets.passthrough.length > PASSTHROUGH_MAX_LENGTH) {
      errors['new_asset_settings.passthrough'] = `must be at most ${PASSTHROUGH_MAX_LENGTH} characters`;
    }
  }
  return errors;
}

function parseAssetSettings(json: string | null): NewAssetSettings | null {
  if (json === null) return null;
  const value = JSON.parse(json) as { playback_policies?: unknown; passthrough?: unknown };
  return {
    playbackPolicies: Array.isArray(value.playback_policies) ? value.playback_policies.filter(isPlaybackPolicy) : [],
    passthrough: typeof value.passthrough === 'string' ? value.passthrough : null,
  };
}

export function serializeAssetSettings(settings: NewAssetSettings | null): string | null {
  return settings === null ? null : JSON.stringify({ playback_policies: settings.playbackPolicies, passthrough: settings.passthrough });
}

/** The settings a stream row holds, with the defaults where it holds none. */
export function liveSettingsOf(row: StreamRow): LiveSettings {
  return {
    passthrough: row.passthrough,
    reconnectWindow: row.reconnect_window === null ? null : Number(row.reconnect_window),
    maxContinuousDuration: row.max_continuous_duration === null ? MAX_CONTINUOUS_DURATION.default : Number(row.max_continuous_duration),
    latencyMode: LATENCY_MODES.includes(row.latency_mode as LatencyMode) ? (row.latency_mode as LatencyMode) : 'standard',
    audioOnly: row.audio_only === 1,
    test: row.test === 1,
    newAssetSettings: parseAssetSettings(row.new_asset_settings),
  };
}

/** The columns a settings change writes. */
export function liveSettingsColumns(change: LiveSettingsChange) {
  return {
    ...(change.title !== undefined ? { title: change.title } : {}),
    ...(change.passthrough !== undefined ? { passthrough: change.passthrough } : {}),
    ...(change.reconnectWindow !== undefined ? { reconnect_window: change.reconnectWindow } : {}),
    ...(change.maxContinuousDuration !== undefined ? { max_continuous_duration: change.maxContinuousDuration } : {}),
    ...(change.latencyMode !== undefined ? { latency_mode: change.latencyMode } : {}),
    ...(change.audioOnly !== undefined ? { audio_only: change.audioOnly ? (1 as const) : (0 as const) } : {}),
    ...(change.test !== undefined ? { test: change.test ? (1 as const) : (0 as const) } : {}),
    ...(change.newAssetSettings !== undefined ? { new_asset_settings: serializeAssetSettings(change.newAssetSettings) } : {}),
  };
}

/** Where a stream stands: taking no publisher, live (its broadcast plays), or waiting for one. */
export type LiveStatus = 'idle' | 'active' | 'disabled';
export const LIVE_STATUSES: readonly LiveStatus[] = ['idle', 'active', 'disabled'];

/**
 * The status, derived from what the core holds (never stored twice): `active` from the moment
 * an open broadcast has a segment to play, through its reconnect window, to its end.
 */
export function liveStatus(enabled: boolean, broadcastPlaying: boolean): LiveStatus {
  if (!enabled) return 'disabled';
  return broadcastPlaying ? 'active' : 'idle';
}
