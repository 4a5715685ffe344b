import { tickerEvery } from './ticker.js';
import { parseAudioSpecificConfig } from '../wire/codecs/aac.js';
import { parseAudioTag, parseVideoTag } from '../wire/flv.js';
import { MessageType, type RtmpMessage } from '../wire/rtmp/messages.js';
import type { MediaOutput } from './live-stream.js';
import { MediaFactsProbe, type VideoFacts } from './media-facts.js';

/** How often the input bitrate is sampled while a stream is live. */
export const STATS_SAMPLE_MS = 2_000;
/** How much bitrate history is kept: five minutes of samples. */
export const STATS_HISTORY_MS = 5 * 60_000;
const MAX_SAMPLES = Math.ceil(STATS_HISTORY_MS / STATS_SAMPLE_MS);

export interface LiveVideoInfo {
  /** `h264`, or the name of a codec this server does not package. */
  codec: string;
  width: number | null;
  height: number | null;
  frameRate: number | null;
}

export interface LiveAudioInfo {
  /** `aac`, or the name of a codec this server does not package. */
  codec: string;
  sampleRate: number | null;
  channels: number | null;
}

/** One bitrate sample: when (Unix ms) and the input's kbit/s over the period before it. */
export interface BitrateSample {
  at: number;
  kbps: number;
}

/** What a stream live on this node looks like now, as the dashboard shows it. */
export interface LiveStats {
  live: true;
  broadcastId: string;
  /** When the broadcast started (ISO 8601); a reconnect does not restart it. */
  startedAt: string;
  uptimeSeconds: number;
  /** An encoder is connected now (false during the reconnect window). */
  publisherConnected: boolean;
  /** The stream's reconnect window in seconds. */
  reconnectWindow: number;
  /** While the encoder is away: seconds left before the broadcast ends; null while it is connected. */
  reconnectSecondsLeft: number | null;
  video: LiveVideoInfo | null;
  audio: LiveAudioInfo | null;
  /** The newest sample's kbit/s (null before the first sample). */
  bitrateKbps: number | null;
  /** The last five minutes of samples, oldest first. */
  bitrate: BitrateSample[];
  /** RTMP viewers and HLS players now. */
  viewers: number;
}

/**
 * The input side of one live session, for the dashboard: bytes counted as the publisher sends
 * them (a number added per message, nothing allocated), a bitrate sample every two seconds by
 * a job on the process's shared ticker while the session lives, and the codecs and picture as the headers say (read until
 * known, then nothing is parsed again until a new publisher connects).
 */
export class LiveStatsRecorder implements MediaOutput {
  /** Bytes of audio, video and data messages received from publishers. */
  bytes = 0;
  private sampledBytes = 0;
  private sampledAt: number;
  private readonly samples: BitrateSample[] = [];
  private readonly stopSampling: () => void;
  private video: LiveVideoInfo | null = null;
  private audio: LiveAudioInfo | null = null;
  private probe: MediaFactsProbe;
  private videoFactsKnown = false;
  private reconnectDeadline: number | undefined;

  constructor(
    readonly broadcastId: string,
    readonly startedAt: string,
    private readonly now: () => number = Date.now,
    sampleMs: number = STATS_SAMPLE_MS,
  ) {
    this.sampledAt = this.now();
    this.probe = this.newProbe();
    this.stopSampling = tickerEvery(sampleMs).add(() => this.sample());
  }

  /** Counts a message from the publisher (before any fan-out). */
  count(message: RtmpMessage): void {
    this.bytes += message.payload.length;
  }

  /** Looks at the live stream's messages until the codecs and picture are known. */
  onMessage(message: RtmpMessage): void {
    if (message.type === MessageType.Video) {
      if (!this.videoFactsKnown) this.probe.onMessage(message);
      if (this.video === null) this.readVideoCodec(message);
    } else if (message.type === MessageType.Audio && (this.audio === null || this.audio.sampleRate === null && this.audio.codec === 'aac')) {
      this.readAudio(message);
    }
  }

  /** A new publisher may send other codecs: they are read again. */
  publisherConnected(): void {
    this.reconnectDeadline = undefined;
    this.video = null;
    this.audio = null;
    this.videoFactsKnown = false;
    this.probe = this.newProbe();
  }

  /** The publisher left: the broadcast ends after `windowSeconds` unless it comes back. */
  publisherLeft(windowSeconds: number): void {
    this.reconnectDeadline = this.now() + windowSeconds * 1000;
  }

  /** Takes a sample now (the timer does this every two seconds). */
  sample(): void {
    const at = this.now();
    const elapsed = at - this.sampledAt;
    if (elapsed <= 0) return;
    const kbps = Math.round(((this.bytes - this.sampledBytes) * 8) / elapsed); // bytes·8 / ms = kbit/s
    this.sampledBytes = this.bytes;
    this.sampledAt = at;
    this.samples.push({ at, kbps });
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
  }

  stop(): void {
    this.stopSampling();
  }

  snapshot(state: { publisherConnected: boolean; reconnectWindow: number; viewers: number }): LiveStats {
    const now = this.now();
    const cutoff = now - STATS_HISTORY_MS;
    const bitrate = this.samples.filter((s) => s.at >= cutoff).map((s) => ({ ...s }));
    return {
      live: true,
      broadcastId: this.broadcastId,
      startedAt: this.startedAt,
      uptimeSeconds: Math.max(0, Math.floor((now - Date.parse(this.startedAt)) / 1000)),
      publisherConnected: state.publisherConnected,
      reconnectWindow: state.reconnectWindow,
      reconnectSecondsLeft: !state.publisherConnected && this.reconnectDeadline !== undefined ? Math.max(0, Math.ceil((this.reconnectDeadline - now) / 1000)) : null,
      video: this.video && { ...this.video },
      audio: this.audio && { ...this.audio },
      bitrateKbps: bitrate.at(-1)?.kbps ?? null,
      bitrate,
      viewers: state.viewers,
    };
  }

  private newProbe(): MediaFactsProbe {
    return new MediaFactsProbe((facts: VideoFacts) => {
      this.videoFactsKnown = true;
      if (this.video?.codec === 'h264') Object.assign(this.video, facts);
      else this.video = { codec: 'h264', ...facts };
    });
  }

  private readVideoCodec(message: RtmpMessage): void {
    let tag;
    try {
      tag = parseVideoTag(message.payload);
    } catch {
      return;
    }
    if (tag.kind === 'avc') this.video = { codec: 'h264', width: null, height: null, frameRate: null };
    else if (tag.kind === 'unsupported') this.video = { codec: tag.codec, width: null, height: null, frameRate: null };
  }

  private readAudio(message: RtmpMessage): void {
    let tag;
    try {
      tag = parseAudioTag(message.payload);
    } catch {
      return;
    }
    if (tag.kind === 'unsupported') {
      this.audio = { codec: tag.codec, sampleRate: null, channels: null };
      return;
    }
    if (tag.packetType !== 'sequence-header') {
      this.audio ??= { codec: 'aac', sampleRate: null, channels: null };
      return;
    }
    try {
      const config = parseAudioSpecificConfig(tag.payload);
      this.audio = { codec: 'aac', sampleRate: config.extensionSampleRate ?? config.sampleRate, channels: config.channelConfiguration || null };
    } catch {
      this.audio = { codec: 'aac', sampleRate: null, channels: null };
    }
  }
}
