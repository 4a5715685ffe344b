/**
 * A live stream's numbers as the server's media plane reports them (`/app/api/streams/:id/live`,
 * `/app/api/live`), and how the dashboard puts them in words. No DOM and no I/O here.
 */

export interface LiveVideoInfo {
  codec: string;
  width: number | null;
  height: number | null;
  frameRate: number | null;
}

export interface LiveAudioInfo {
  codec: string;
  sampleRate: number | null;
  channels: number | null;
}

export interface LiveStats {
  live: true;
  broadcastId: string;
  startedAt: string;
  uptimeSeconds: number;
  publisherConnected: boolean;
  reconnectWindow: number;
  reconnectSecondsLeft: number | null;
  video: LiveVideoInfo | null;
  audio: LiveAudioInfo | null;
  bitrateKbps: number | null;
  bitrate: { at: number; kbps: number }[];
  viewers: number;
}

export type LiveAnswer = LiveStats | { live: false };

/** One live stream in the list's answer. */
export interface LiveSummary {
  id: string;
  live: true;
  startedAt: string;
  uptimeSeconds: number;
  viewers: number;
  publisherConnected: boolean;
  reconnectSecondsLeft: number | null;
  bitrateKbps: number | null;
}

/** How often the pages ask for the numbers while a stream is live. */
export const LIVE_POLL_MS = 2_000;

const CODEC_NAMES: Record<string, string> = { h264: 'H.264', aac: 'AAC' };

export function codecName(codec: string): string {
  return CODEC_NAMES[codec] ?? codec;
}

/** `H.264 · 320×240 · 30 fps`, or what of it is known. */
export function videoText(video: LiveVideoInfo | null): string {
  if (!video) return 'Waiting for video…';
  const parts = [codecName(video.codec)];
  if (video.width && video.height) parts.push(`${video.width}×${video.height}`);
  if (video.frameRate) parts.push(`${Math.round(video.frameRate * 100) / 100} fps`);
  return parts.join(' · ');
}

const CHANNELS: Record<number, string> = { 1: 'mono', 2: 'stereo', 6: '5.1', 8: '7.1' };

/** `AAC · 44.1 kHz · stereo`, or what of it is known. */
export function audioText(audio: LiveAudioInfo | null): string {
  if (!audio) return 'No audio';
  const parts = [codecName(audio.codec)];
  if (audio.sampleRate) parts.push(`${Math.round(audio.sampleRate / 100) / 10} kHz`);
  if (audio.channels) parts.push(CHANNELS[audio.channels] ?? `${audio.channels} channels`);
  return parts.join(' · ');
}

/** `1:02:03`, `2:03` (minutes and seconds under an hour). */
export function durationText(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return hours > 0 ? `${hours}:${two(minutes)}:${two(seconds)}` : `${minutes}:${two(seconds)}`;
}

export function bitrateText(kbps: number | null): string {
  return kbps === null ? 'Measuring…' : `${kbps.toLocaleString('en-US')} kbit/s`;
}

/** The reconnect state in words, or null while the encoder is connected. */
export function reconnectText(stats: Pick<LiveStats, 'publisherConnected' | 'reconnectSecondsLeft'>): string | null {
  if (stats.publisherConnected) return null;
  if (stats.reconnectSecondsLeft === null) return 'The encoder disconnected.';
  return `Reconnecting, ${stats.reconnectSecondsLeft} s left`;
}

/** The first public playback id of a stream as the live API shows it, or null. */
export function publicPlaybackId(stream: { [field: string]: unknown }): string | null {
  const ids = stream['playback_ids'];
  if (!Array.isArray(ids)) return null;
  for (const entry of ids as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { id, policy } = entry as { id?: unknown; policy?: unknown };
    if (policy === 'public' && typeof id === 'string' && id) return id;
  }
  return null;
}
