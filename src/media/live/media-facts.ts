import { parseAvcDecoderConfig, parseSps } from '../wire/codecs/h264.js';
import { parseVideoTag } from '../wire/flv.js';
import { MessageType, type RtmpMessage } from '../wire/rtmp/messages.js';
import type { MediaOutput } from './live-stream.js';

/** What a broadcast's video showed: its picture size and frame rate (null when it could not be told). */
export interface VideoFacts {
  width: number;
  height: number;
  frameRate: number | null;
}

/** Frames counted to estimate the frame rate when the SPS does not say it. */
const FRAMES_TO_COUNT = 60;

/**
 * Reads a live stream's picture size from the H.264 sequence header, and its frame rate from
 * the SPS timing, else from the timestamps of its first frames; reports once. Looks at headers
 * and timestamps only: no frame is parsed or copied.
 */
export class MediaFactsProbe implements MediaOutput {
  private size: { width: number; height: number; frameRate: number | null } | undefined;
  private firstTimestamp: number | undefined;
  private frames = 0;
  private reported = false;

  constructor(private readonly report: (facts: VideoFacts) => void) {}

  onMessage(message: RtmpMessage): void {
    if (this.reported || message.type !== MessageType.Video) return;
    let tag;
    try {
      tag = parseVideoTag(message.payload);
    } catch {
      return;
    }
    if (tag.kind !== 'avc') return;
    if (tag.packetType === 'sequence-header') {
      try {
        const config = parseAvcDecoderConfig(tag.payload);
        const sps = config.sps[0] ? parseSps(config.sps[0]) : undefined;
        if (sps) this.size = { width: sps.width, height: sps.height, frameRate: sps.frameRate ?? null };
      } catch {
        // A header we cannot read says nothing; the broadcast goes on without its facts.
      }
      if (this.size?.frameRate) this.finish(this.size.frameRate);
      return;
    }
    if (tag.packetType !== 'nalu' || !this.size) return;
    this.firstTimestamp ??= message.timestamp;
    this.frames++;
    const span = message.timestamp - this.firstTimestamp;
    if (this.frames >= FRAMES_TO_COUNT && span > 0) this.finish(Math.round(((this.frames - 1) * 1000 * 100) / span) / 100);
  }

  private finish(frameRate: number): void {
    if (!this.size) return;
    this.reported = true;
    this.report({ width: this.size.width, height: this.size.height, frameRate });
  }
}
