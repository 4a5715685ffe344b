import { parseAudioTag, parseVideoTag } from '../wire/flv.js';
import { MediaFormatError } from '../wire/format-error.js';
import { MessageType, type RtmpMessage } from '../wire/rtmp/messages.js';
import type { PlaySubscription, RtmpViewer } from '../rtmp/connection.js';
import type { PayloadRecycler } from '../wire/arena.js';
import { fanOut } from '../wire/fan-out.js';

/** A batch that reaches this many payload bytes is written at once, whatever its age. */
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * Something fed every message of a live stream as it arrives: the HLS packager, the stats.
 * The payload is valid only during the call (its memory is reused once the live stream no
 * longer keeps it): an output copies what it keeps. Viewers (RtmpViewer.send) likewise.
 */
export interface MediaOutput {
  onMessage(message: RtmpMessage): void;
}

/**
 * The live tags of one stream, fanned out from its publisher to viewers and outputs. It keeps
 * what a newcomer needs to start at once: the metadata, the codec headers, and the current
 * group of pictures from its keyframe, so a viewer joining mid-stream starts decoding at the
 * latest keyframe with the codec headers first.
 */
export class LiveStream {
  private metadata: RtmpMessage | undefined;
  private videoHeader: RtmpMessage | undefined;
  private audioHeader: RtmpMessage | undefined;
  private gop: RtmpMessage[] = [];
  private gopBytes = 0;
  private readonly viewers = new Set<RtmpViewer>();
  private readonly outputs = new Set<MediaOutput>();
  /** Messages dropped because their body could not be parsed. */
  malformed = 0;
  /**
   * Added to a returning publisher's timestamps (which restart near 0) so that viewers who stay
   * through a reconnect see time go on instead of jumping back.
   */
  private timeShift = 0;
  private lastTimestamp = 0;
  private rebaseNext = false;
  /** Messages published since viewers were last written to, in order. */
  private pending: RtmpMessage[] = [];
  private pendingBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly flushBound = (): void => this.flush();
  /** The publisher's payload memory, told after each message which payloads are still kept here. */
  private payloads: PayloadRecycler | undefined;
  private readonly kept: Buffer[] = [];

  /**
   * @param maxGopBytes the most a GOP without keyframes may hold for newcomers.
   * @param batchMs how long a message may wait to go to viewers with the ones after it. Each
   *   write to a socket costs about the same whatever its size (a system call, a TCP segment
   *   through the kernel, a wake-up of the reader), and a publisher's messages come one per
   *   read, some 70 a second: writing what came in the last few tens of milliseconds as one
   *   Buffer, the same for every viewer, divides the writes of a fan-out by as much, for a delay
   *   far below what players buffer. 0 writes each message at once (tests, and whoever wants
   *   the lowest latency).
   */
  constructor(
    private readonly maxGopBytes: number = 32 * 1024 * 1024,
    private readonly batchMs: number = 0,
  ) {}

  get viewerCount(): number {
    return this.viewers.size;
  }

  publish(incoming: RtmpMessage): void {
    if (this.rebaseNext) {
      this.rebaseNext = false;
      // One video frame's worth after the last thing viewers got.
      this.timeShift = (this.lastTimestamp + 40 - incoming.timestamp) >>> 0;
    }
    // Written out, not spread: objects made by a spread on every message were promoted by V8 to its old space.
    const message: RtmpMessage =
      this.timeShift === 0
        ? incoming
        : { chunkStreamId: incoming.chunkStreamId, timestamp: (incoming.timestamp + this.timeShift) >>> 0, type: incoming.type, streamId: incoming.streamId, payload: incoming.payload };
    this.lastTimestamp = message.timestamp;
    if (this.remember(message)) {
      if (this.viewers.size > 0) {
        this.pending.push(message);
        this.pendingBytes += message.payload.length;
        if (this.batchMs <= 0 || this.pendingBytes >= MAX_BATCH_BYTES) this.flush();
        else this.flushTimer ??= setTimeout(this.flushBound, this.batchMs);
      }
      for (const output of this.outputs) output.onMessage(message);
    }
    this.recycle(message);
  }

  /**
   * The payloads of `payloads`' publisher are reused once this stream no longer keeps them (a
   * new publisher brings its own; one published in process, none).
   */
  usePayloads(payloads: PayloadRecycler | undefined): void {
    this.payloads = payloads;
  }

  /** Tells the publisher's memory what is still kept: the batch waiting for viewers and the GOP. */
  private recycle(latest: RtmpMessage): void {
    if (!this.payloads) return;
    const kept = this.kept;
    kept.length = 0;
    if (this.pending.length > 0) kept.push(this.pending[0]!.payload);
    kept.push(this.gop.length > 0 ? this.gop[0]!.payload : latest.payload);
    this.payloads.recycleBefore(kept);
  }

  /** Writes what waits to every viewer now, as one batch (before relays are stopped, say, so they get the publisher's last messages). */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    // One fan-out: the batch's chunked bytes, shared by the viewers, live only while it runs.
    fanOut(() => {
      for (const viewer of this.viewers) {
        if (!viewer.send(batch)) this.viewers.delete(viewer);
      }
    });
  }

  /** Updates what a newcomer is sent; false for a message to drop. */
  private remember(message: RtmpMessage): boolean {
    let startsGop = false;
    try {
      if (message.type === MessageType.Video) {
        const tag = parseVideoTag(message.payload);
        if (tag.kind === 'avc' && tag.packetType === 'sequence-header') {
          this.videoHeader = ownCopy(message);
          return true;
        }
        if (tag.keyframe && tag.kind !== 'command') {
          this.restartGop();
          startsGop = true;
        }
      } else if (message.type === MessageType.Audio) {
        const tag = parseAudioTag(message.payload);
        if (tag.kind === 'aac' && tag.packetType === 'sequence-header') {
          this.audioHeader = ownCopy(message);
          return true;
        }
        // Audio-only streams have no keyframes: any audio frame is a starting point.
        startsGop = !this.videoHeader && this.gop.length === 0;
      } else {
        this.metadata = ownCopy(message);
        return true;
      }
    } catch (err) {
      if (err instanceof MediaFormatError) {
        this.malformed++;
        return false;
      }
      throw err;
    }
    if (this.gop.length > 0 || startsGop) {
      this.gop.push(message);
      this.gopBytes += message.payload.length;
      // A GOP that never ends (no keyframes) must not hold memory without bound.
      if (this.gopBytes > this.maxGopBytes) this.restartGop();
    }
    return true;
  }

  private restartGop(): void {
    this.gop = [];
    this.gopBytes = 0;
  }

  /** Starts a viewer at the latest keyframe, codec headers first, then live. */
  addViewer(viewer: RtmpViewer): PlaySubscription {
    // What waits is already in the GOP: the others get it first, so the newcomer gets it once.
    this.flush();
    const start = [this.metadata, this.videoHeader, this.audioHeader, ...this.gop].filter((m): m is RtmpMessage => m !== undefined);
    if (start.length > 0 && !viewer.send(start)) return { stop: () => {} };
    this.viewers.add(viewer);
    return { stop: () => this.viewers.delete(viewer) };
  }

  addOutput(output: MediaOutput): () => void {
    this.outputs.add(output);
    return () => this.outputs.delete(output);
  }

  /** The publisher is gone for good: viewers are told the stream ended. */
  end(reason: string): void {
    this.flush();
    for (const viewer of this.viewers) viewer.close(reason);
    this.viewers.clear();
    this.outputs.clear();
  }

  /** A new publisher may use other codec settings: what a newcomer needs starts over. */
  resetForNewPublisher(): void {
    this.rebaseNext = true;
    this.metadata = undefined;
    this.videoHeader = undefined;
    this.audioHeader = undefined;
    this.restartGop();
  }
}

/** A message kept past its GOP (codec headers, metadata), with a payload of its own. */
function ownCopy(message: RtmpMessage): RtmpMessage {
  return { ...message, payload: Buffer.from(message.payload) };
}
