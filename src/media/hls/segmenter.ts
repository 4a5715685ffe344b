/**
 * Cuts a publisher's H.264/AAC stream into MPEG-TS segments for HLS.
 *
 * The caller (the live hub) parses each RTMP audio/video message with parseVideoTag /
 * parseAudioTag and pushes the tag with the message's 32-bit millisecond timestamp; a push
 * returns the segment it finished, if any. Sequence headers must come before the frames they
 * describe (every RTMP publisher sends them first); frames of a codec whose sequence header has
 * not been seen are dropped, as are tags of codecs other than H.264 and AAC.
 *
 * Segments start with PAT/PMT and, when there is video, with a keyframe: a new segment starts
 * at the first keyframe once the current one has lasted the target duration. Without video the
 * audio is cut on time. A segment that reaches maxSegmentDuration or maxSegmentBytes without a
 * keyframe is cut anyway, so memory stays bounded whatever the publisher sends.
 *
 * Output timestamps follow one continuous timeline that starts at 0 with the first frame and
 * carries on across discontinuities (a reconnected publisher restarting its clock) and 32-bit
 * wraps, so segment times never go backwards.
 */
import { MediaFormatError } from '../wire/format-error.js';
import type { AudioTag, VideoTag } from '../wire/flv.js';
import { AvccNalUnits, parseAvcDecoderConfig, parseSps, type AvcDecoderConfig, type SpsInfo } from '../wire/codecs/h264.js';
import { ADTS_HEADER_SIZE, MAX_ADTS_FRAME_BYTES, adtsHeader, frameDurationSeconds, parseAudioSpecificConfig, writeAdtsHeader, type AudioSpecificConfig } from '../wire/codecs/aac.js';
import { TsMuxer, type TsTracks } from '../wire/mpegts/muxer.js';
import { BlockWriter, PacketWriter, type BlockPool } from '../wire/mpegts/packet-writer.js';

/** One finished segment. */
export class HlsSegment {
  constructor(
    /** Media sequence number: consecutive from firstSequence. */
    readonly sequence: number,
    /**
     * The segment's bytes in order, as the segmenter wrote them: with a block pool, only the
     * blocks not already handed out by takeFilledBlocks() (the live path writes those as they fill).
     */
    readonly chunks: readonly Buffer[],
    /** Bytes in the whole segment. */
    readonly size: number,
    /** Seconds. */
    readonly duration: number,
    /** Seconds on the broadcast timeline (0 at the first frame, continuous across discontinuities). */
    readonly startTime: number,
    /** The first segment after markDiscontinuity() or a timestamp jump: #EXT-X-DISCONTINUITY before it. */
    readonly discontinuity: boolean,
    /** Decoding can start here: the first video frame is a keyframe, or there is no video. */
    readonly independent: boolean,
  ) {}

  /** The chunks in one buffer (joined on demand). */
  get data(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks as Buffer[]);
  }
}

export interface SegmenterOptions {
  /** Seconds; a segment is cut at the first keyframe after this long. Default 2. */
  targetDurationSeconds?: number;
  /** Seconds after which a segment is cut even without a keyframe. Default max(10, 6 x target). */
  maxSegmentDurationSeconds?: number;
  /** Bytes after which a segment is cut even without a keyframe. Default 64 MiB. */
  maxSegmentBytes?: number;
  /**
   * Seconds a timestamp may jump (either way) from the previous one before it is taken as a
   * restarted clock and handled as a discontinuity. Default 10.
   */
  maxTimestampJumpSeconds?: number;
  /** Sequence number of the first segment. Default 0. */
  firstSequence?: number;
  /**
   * Blocks to write segments into, shared by every stream: the caller then takes each block as it
   * fills (takeFilledBlocks) instead of holding whole segments. Without it, each segment is one
   * buffer.
   */
  blocks?: BlockPool;
}

/**
 * Where timeline 0 sits in 90 kHz ticks: 10 s of room below it for a track that starts before the
 * first frame seen, for negative composition offsets and for the PCR lead, so that no timestamp
 * written near the start wraps around to 2^33.
 */
const TIMELINE_ORIGIN_90K = 900_000;
/** Keyframes land on whole milliseconds; one a hair early still ends a segment that reached its target. */
const CUT_TOLERANCE_MS = 20;
/** Audio frames batched per PES: fewer PES headers and stuffed packets, still well under a frame of video. */
const AUDIO_FRAMES_PER_PES = 5;
const DEFAULT_VIDEO_FRAME_MS = 1000 / 30;
const TIMESTAMP_MODULO = 2 ** 32;
/**
 * How far one track's timestamps may step back before it counts as a restarted clock. Tracks
 * interleave a little out of order with each other, but each track's own DTS only moves forward.
 */
const MAX_TRACK_REWIND_MS = 500;

type Track = 'video' | 'audio';

interface OpenSegment {
  tracks: TsTracks;
  startMs: number;
  /** The latest end (timestamp plus frame duration) of anything written. */
  endMs: number;
  discontinuity: boolean;
  /** Whether the first video frame written was a keyframe; undefined until one is written. */
  firstVideoKeyframe: boolean | undefined;
}

/**
 * Audio frames waiting for their PES, each with its ADTS header, in the segmenter's audio buffer
 * (copied: a frame is a view of its message, whose memory is reused once the call returns).
 */
interface PendingAudio {
  startMs: number;
  nextMs: number;
  frames: number;
  /** Bytes of the audio buffer in use. */
  bytes: number;
}

/** Room for the first segment; later ones are sized from the one before. */
const FIRST_SEGMENT_CAPACITY = 256 * 1024;
/** What a segment's buffer starts with at most, whatever the last one took: it grows if need be. */
const MAX_RESERVED_BYTES = 8 * 1024 * 1024;

export class HlsSegmenter {
  private readonly targetMs: number;
  private readonly maxDurationMs: number;
  private readonly maxBytes: number;
  private readonly maxJumpMs: number;
  private readonly muxer = new TsMuxer({ video: false, audio: false });
  /** The open segment's bytes, written in place by the muxer. */
  private readonly out: PacketWriter | BlockWriter;
  /** Reused for every access unit. */
  private readonly nalus = new AvccNalUnits();
  /** The pending PES's ADTS frames; grown to the largest PES seen (a few KiB at usual bitrates). */
  private audioBytes = Buffer.allocUnsafe(4096);

  private avc: { config: AvcDecoderConfig; sps: SpsInfo | undefined } | undefined;
  private aac: AudioSpecificConfig | undefined;

  private nextSequence: number;
  private current: OpenSegment | undefined;
  private pendingAudio: PendingAudio | undefined;
  private nextIsDiscontinuity = false;
  private emittedAny = false;
  private awaitingKeyframe = true;
  private lastVideoDtsMs: number | undefined;
  private videoFrameMs = DEFAULT_VIDEO_FRAME_MS;

  /** The publisher's clock: the last raw 32-bit timestamp and where it sits on the timeline. */
  private clock: { raw: number; ms: number } | undefined;
  /** Each track's last position on the timeline, in this run of timestamps. */
  private trackMs: Partial<Record<Track, number>> = {};
  /** Where the next run of timestamps starts on the timeline. */
  private resumeAtMs = 0;

  constructor(options: SegmenterOptions = {}) {
    const target = options.targetDurationSeconds ?? 2;
    const maxDuration = options.maxSegmentDurationSeconds ?? Math.max(10, 6 * target);
    const maxBytes = options.maxSegmentBytes ?? 64 * 1024 * 1024;
    const maxJump = options.maxTimestampJumpSeconds ?? 10;
    if (!(target > 0)) throw new RangeError('targetDurationSeconds must be positive');
    if (!(maxDuration >= target)) throw new RangeError('maxSegmentDurationSeconds must be at least targetDurationSeconds');
    if (!(maxBytes > 0)) throw new RangeError('maxSegmentBytes must be positive');
    if (!(maxJump > 0)) throw new RangeError('maxTimestampJumpSeconds must be positive');
    this.targetMs = target * 1000;
    this.maxDurationMs = maxDuration * 1000;
    this.maxBytes = maxBytes;
    this.maxJumpMs = maxJump * 1000;
    this.nextSequence = options.firstSequence ?? 0;
    this.out = options.blocks ? new BlockWriter(options.blocks) : new PacketWriter(FIRST_SEGMENT_CAPACITY);
  }

  /**
   * With a block pool: the blocks of the open segment filled since the last call, handed over in
   * order (the segment that finishes next holds only the rest).
   */
  /** The sequence number the open (or next) segment will have. */
  get nextSequenceNumber(): number {
    return this.nextSequence;
  }

  takeFilledBlocks(): Buffer[] {
    return this.out instanceof BlockWriter ? this.out.takeFilled() : [];
  }

  /** The current H.264 configuration and what its SPS says (size, profile, level), for logs and metadata. */
  get video(): { config: AvcDecoderConfig; sps: SpsInfo | undefined } | undefined {
    return this.avc;
  }

  get audio(): AudioSpecificConfig | undefined {
    return this.aac;
  }

  /**
   * Takes one parsed video tag with its RTMP/FLV timestamp (milliseconds, 32-bit). Returns the
   * segment this tag finished, if any. Throws MediaFormatError for a malformed AVC sequence header
   * or access unit, having changed nothing.
   */
  pushVideo(tag: VideoTag, timestampMs: number): HlsSegment | undefined {
    if (tag.kind !== 'avc') return undefined;
    if (tag.packetType === 'sequence-header') {
      // Copied: the tag is a view into the caller's message buffer, the configuration lives on.
      const config = parseAvcDecoderConfig(Buffer.from(tag.payload));
      let sps: SpsInfo | undefined;
      try {
        sps = config.sps[0] && parseSps(config.sps[0]);
      } catch (err) {
        // The SPS is read only for information; players decode what the encoder produced.
        if (!(err instanceof MediaFormatError)) throw err;
      }
      this.avc = { config, sps };
      if (sps?.frameRate) this.videoFrameMs = 1000 / sps.frameRate;
      this.muxer.setParameterSets(config.sps, config.pps);
      return undefined;
    }
    if (tag.packetType !== 'nalu' || this.avc === undefined) return undefined;
    const nalus = this.nalus.scan(tag.payload, this.avc.config.naluLengthSize);
    if (nalus.count === 0) return undefined;
    const keyframe = tag.keyframe || nalus.idr;

    let finished = this.advanceClock(timestampMs, 'video');
    const dtsMs = this.clock!.ms;
    if (this.awaitingKeyframe && !keyframe) return finished;

    const open = this.current;
    if (open && this.shouldCutForVideo(open, dtsMs, keyframe)) finished = this.finish(dtsMs);
    const segment = this.open(dtsMs);
    if (!segment.tracks.video) return finished;

    this.awaitingKeyframe = false;
    segment.firstVideoKeyframe ??= keyframe;
    if (this.lastVideoDtsMs !== undefined && dtsMs > this.lastVideoDtsMs) this.videoFrameMs = dtsMs - this.lastVideoDtsMs;
    this.lastVideoDtsMs = dtsMs;
    this.muxer.writeVideo({ dts: to90k(dtsMs), pts: to90k(dtsMs + tag.compositionTimeMs), keyframe, nalus }, this.out);
    segment.endMs = Math.max(segment.endMs, dtsMs + this.videoFrameMs);
    return finished;
  }

  /**
   * Takes one parsed audio tag with its timestamp. Returns the segment this tag finished, if any.
   * Throws MediaFormatError for an AudioSpecificConfig that is malformed or that ADTS cannot
   * carry (then the audio is not packaged until a usable one arrives).
   */
  pushAudio(tag: AudioTag, timestampMs: number): HlsSegment | undefined {
    if (tag.kind !== 'aac') return undefined;
    if (tag.packetType === 'sequence-header') {
      const config = parseAudioSpecificConfig(tag.payload);
      adtsHeader(config, 0); // throws now, rather than on every frame, when ADTS cannot carry it
      if (this.current) this.flushAudio(this.current);
      this.aac = config;
      return undefined;
    }
    if (this.aac === undefined || tag.payload.length === 0) return undefined;
    const raw = tag.payload;
    // Refused before anything changes, as an ADTS header could not say its length.
    if (ADTS_HEADER_SIZE + raw.length > MAX_ADTS_FRAME_BYTES) throw new MediaFormatError('aac', `a ${raw.length}-byte frame does not fit in ADTS`);
    const frameMs = frameDurationSeconds(this.aac) * 1000;

    let finished = this.advanceClock(timestampMs, 'audio');
    const ms = this.clock!.ms;
    const open = this.current;
    if (open && this.shouldCutForAudio(open, ms)) finished = this.finish(ms);
    const segment = this.open(ms);
    if (!segment.tracks.audio) return finished;

    let pending = this.pendingAudio;
    // A PES has one timestamp: a frame that does not follow on starts a new one.
    if (pending && (pending.frames >= AUDIO_FRAMES_PER_PES || Math.abs(ms - pending.nextMs) > frameMs / 2)) {
      this.flushAudio(segment);
      pending = undefined;
    }
    if (pending === undefined) {
      pending = { startMs: ms, nextMs: ms, frames: 0, bytes: 0 };
      this.pendingAudio = pending;
    }
    const at = pending.bytes;
    const end = at + ADTS_HEADER_SIZE + raw.length;
    if (end > this.audioBytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(end, this.audioBytes.length * 2));
      this.audioBytes.copy(grown, 0, 0, at);
      this.audioBytes = grown;
    }
    writeAdtsHeader(this.aac, raw.length, this.audioBytes, at);
    this.audioBytes.set(raw, at + ADTS_HEADER_SIZE);
    pending.frames++;
    pending.bytes = end;
    pending.nextMs = ms + frameMs;
    segment.endMs = Math.max(segment.endMs, ms + frameMs);
    return finished;
  }

  /** Finishes the current segment now (the publisher stopped). Returns it, unless it was empty. */
  flush(): HlsSegment | undefined {
    return this.current ? this.finish(undefined) : undefined;
  }

  /**
   * The publisher reconnected: finishes the current segment (returned, if any) and makes the next
   * one a discontinuity (even the first one this segmenter makes: a broadcast resumed by a new
   * segmenter continues an earlier recording). The new publisher's timestamps may start anywhere; they are placed right
   * after the last segment. Codec configurations are forgotten: the new publisher sends its own
   * sequence headers, and video waits for its first keyframe.
   */
  markDiscontinuity(): HlsSegment | undefined {
    const finished = this.flush();
    this.restartRun();
    this.nextIsDiscontinuity = true;
    this.avc = undefined;
    this.aac = undefined;
    this.muxer.setParameterSets([], []);
    return finished;
  }

  private restartRun(): void {
    if (this.emittedAny) this.nextIsDiscontinuity = true;
    this.clock = undefined;
    this.trackMs = {};
    this.awaitingKeyframe = true;
    this.lastVideoDtsMs = undefined;
  }

  /**
   * Moves the clock to a track's raw 32-bit timestamp and returns the segment finished if the
   * timestamp jumped. Differences are taken modulo 2^32, so the 49.7-day wrap is just a small step.
   */
  private advanceClock(timestampMs: number, track: Track): HlsSegment | undefined {
    const raw = timestampMs >>> 0;
    let finished: HlsSegment | undefined;
    if (this.clock !== undefined) {
      let delta = (raw - this.clock.raw) % TIMESTAMP_MODULO;
      if (delta < 0) delta += TIMESTAMP_MODULO;
      if (delta >= TIMESTAMP_MODULO / 2) delta -= TIMESTAMP_MODULO;
      const ms = this.clock.ms + delta;
      const rewound = ms < (this.trackMs[track] ?? -Infinity) - MAX_TRACK_REWIND_MS;
      if (Math.abs(delta) <= this.maxJumpMs && !rewound) {
        this.clock = { raw, ms };
        this.trackMs[track] = ms;
        return undefined;
      }
      // The publisher's clock restarted or leapt: as good as a reconnect.
      finished = this.flush();
      this.restartRun();
    }
    this.clock = { raw, ms: this.resumeAtMs };
    this.trackMs[track] = this.resumeAtMs;
    return finished;
  }

  private shouldCutForVideo(segment: OpenSegment, ms: number, keyframe: boolean): boolean {
    if (this.overLimits(segment, ms)) return true;
    if (!keyframe) return false;
    // Video joined a segment that was opened without it: start one with video right away.
    if (!segment.tracks.video) return true;
    return ms - segment.startMs >= this.targetMs - CUT_TOLERANCE_MS;
  }

  private shouldCutForAudio(segment: OpenSegment, ms: number): boolean {
    if (this.overLimits(segment, ms)) return true;
    if (segment.tracks.video) return false;
    // Audio joined a segment opened without it; otherwise audio alone is cut on time.
    if (!segment.tracks.audio) return true;
    return ms - segment.startMs >= this.targetMs;
  }

  private overLimits(segment: OpenSegment, ms: number): boolean {
    return ms - segment.startMs >= this.maxDurationMs || this.out.length + (this.pendingAudio?.bytes ?? 0) >= this.maxBytes;
  }

  /** The open segment, starting one at ms with the tracks whose configurations are known. */
  private open(ms: number): OpenSegment {
    if (this.current) return this.current;
    const tracks = { video: this.avc !== undefined, audio: this.aac !== undefined };
    this.muxer.setTracks(tracks);
    this.muxer.writeTables(this.out);
    this.current = {
      tracks,
      startMs: ms,
      endMs: ms,
      discontinuity: this.nextIsDiscontinuity,
      firstVideoKeyframe: undefined,
    };
    this.nextIsDiscontinuity = false;
    return this.current;
  }

  private flushAudio(segment: OpenSegment): void {
    const pending = this.pendingAudio;
    this.pendingAudio = undefined;
    if (pending === undefined || !segment.tracks.audio) return;
    this.muxer.writeAudio({ pts: to90k(pending.startMs), adts: this.audioBytes.subarray(0, pending.bytes) }, this.out);
    segment.endMs = Math.max(segment.endMs, pending.nextMs);
  }

  /**
   * Closes the open segment. cutAtMs is the time of the frame that starts the next segment, which
   * is where this one ends; without one (flush), it ends after its last frame.
   */
  private finish(cutAtMs: number | undefined): HlsSegment {
    const segment = this.current!;
    this.flushAudio(segment);
    this.current = undefined;
    const endMs = cutAtMs ?? segment.endMs;
    this.resumeAtMs = Math.max(this.resumeAtMs, endMs, segment.endMs);
    this.emittedAny = true;
    const size = this.out.length;
    const chunks =
      this.out instanceof BlockWriter
        ? this.out.takeAll()
        : // The next segment's buffer gets an eighth more room than this one took, so it rarely grows.
          [this.out.take(Math.min(MAX_RESERVED_BYTES, Math.ceil((size * 9) / 8)))];
    return new HlsSegment(
      this.nextSequence++,
      chunks,
      size,
      Math.max(0, endMs - segment.startMs) / 1000,
      segment.startMs / 1000,
      segment.discontinuity,
      segment.firstVideoKeyframe ?? true,
    );
  }
}

function to90k(ms: number): number {
  return Math.round(ms * 90) + TIMELINE_ORIGIN_90K;
}
