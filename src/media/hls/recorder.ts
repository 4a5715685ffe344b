import type { BlobStore, BlobWriter } from '../../blob/blob-store.js';
import type { BroadcastService } from '../../core/broadcasts/broadcasts.js';
import type { BroadcastId, StreamId } from '../../core/kernel/ids.js';
import { parseAudioTag, parseVideoTag } from '../wire/flv.js';
import { MediaFormatError } from '../wire/format-error.js';
import type { MediaOutput } from '../live/live-stream.js';
import { MessageType, type RtmpMessage } from '../wire/rtmp/messages.js';
import type { Logger } from '../rtmp/connection.js';
import { LivePlaylist } from '../wire/hls/playlist.js';
import { HlsSegmenter, type HlsSegment } from './segmenter.js';
import { BlockPool } from '../wire/mpegts/packet-writer.js';

export interface HlsRecorderOptions {
  /** Where each stored segment is recorded, as part of its broadcast's recording. */
  recordings: Pick<BroadcastService, 'recordSegment'>;
  blobs: BlobStore;
  log: Logger & { error(obj: object, msg: string): void };
  streamId: StreamId;
  broadcastId: BroadcastId;
  /** Sequence of the first segment: a resumed broadcast continues its numbering. */
  firstSequence: number;
  segmentDuration: number;
  liveWindow: number;
  /** The first segment continues an earlier recording of this broadcast. */
  discontinuityFirst: boolean;
  /**
   * Whether the next segment's bytes are wanted whole once stored (someone plays the stream over
   * HLS here): asked when a segment starts. Then onStored is given them.
   */
  wantsSegments?: () => boolean;
  /** Told of each wanted segment once it is stored (before the live playlist lists it), with its blob key. */
  onStored?: (key: string, sequence: number, data: Buffer) => void;
  /** The blocks segments are cut into, shared by every stream (a pool of its own without it). */
  blocks?: BlockPool;
  /** Told how long each segment took from its last frame to being stored, in seconds (a metric). */
  onWritten?: (seconds: number) => void;
}

/** The open segment as it is being written out. */
interface SegmentInProgress {
  sequence: number;
  writer: Promise<BlobWriter>;
  /** The blocks written so far, kept (not given back) when the segment is wanted whole. */
  kept: Buffer[] | undefined;
  failed: unknown;
}

/** The name of a segment file within its broadcast's folder. */
export function segmentFileName(sequence: number): string {
  return `seg-${String(sequence).padStart(5, '0')}.ts`;
}

export function segmentBlobKey(streamId: string, broadcastId: string, sequence: number): string {
  return `hls/${streamId}/${broadcastId}/${segmentFileName(sequence)}`;
}

/**
 * One broadcast's HLS output: packages the live tags into segments, writes each through the
 * blob store, records it in the core (the recording), and keeps the live playlist's window.
 * A segment enters the live playlist only once it is stored, so players never ask for a
 * segment that is not there yet.
 *
 * A segment is written out block by block while it is being cut (a BlobWriter, committed when
 * the segment closes), so a stream holds about one block of it in memory, not all of it.
 */
export class HlsRecorder implements MediaOutput {
  private readonly segmenter: HlsSegmenter;
  private readonly playlist: LivePlaylist;
  private writes: Promise<void> = Promise.resolve();
  private malformedLogged = false;
  private readonly blocks: BlockPool;
  private open: SegmentInProgress | undefined;

  constructor(private readonly options: HlsRecorderOptions) {
    this.blocks = options.blocks ?? new BlockPool();
    this.segmenter = new HlsSegmenter({ targetDurationSeconds: options.segmentDuration, firstSequence: options.firstSequence, blocks: this.blocks });
    this.playlist = new LivePlaylist(options.liveWindow);
    if (options.discontinuityFirst) this.segmenter.markDiscontinuity();
  }

  onMessage(message: RtmpMessage): void {
    try {
      let segment: HlsSegment | undefined;
      if (message.type === MessageType.Video) segment = this.segmenter.pushVideo(parseVideoTag(message.payload), message.timestamp);
      else if (message.type === MessageType.Audio) segment = this.segmenter.pushAudio(parseAudioTag(message.payload), message.timestamp);
      if (segment) this.store(segment);
      const filled = this.segmenter.takeFilledBlocks();
      if (filled.length > 0) this.append(filled);
    } catch (err) {
      if (!(err instanceof MediaFormatError)) throw err;
      if (!this.malformedLogged) {
        this.malformedLogged = true;
        this.options.log.warn({ streamId: this.options.streamId, problem: err.message }, 'malformed media dropped');
      }
    }
  }

  /** The publisher reconnected: the next segment starts a discontinuity. */
  discontinuity(): void {
    const segment = this.segmenter.markDiscontinuity();
    if (segment) this.store(segment);
  }

  /** The publisher left: the segment in progress is finished and stored. */
  async flush(): Promise<void> {
    const segment = this.segmenter.flush();
    if (segment) this.store(segment);
    await this.writes;
  }

  /** Waits for every segment to be stored. */
  async close(): Promise<void> {
    this.playlist.end();
    if (this.open) this.abandon(this.open);
    this.open = undefined;
    await this.writes;
  }

  livePlaylist(): string {
    return this.playlist.render();
  }

  /** Whether the live playlist lists segment `sequence` now. */
  lists(sequence: number): boolean {
    const { segments } = this.playlist;
    return segments.length > 0 && segments[0]!.sequence <= sequence && sequence <= segments[segments.length - 1]!.sequence;
  }

  /** Writes full blocks of the open segment, then gives them back to the pool (or keeps them). */
  private append(blocks: Buffer[]): void {
    const part = (this.open ??= this.startSegment(this.segmenter.nextSequenceNumber));
    this.writes = this.writes.then(async () => {
      if (part.failed === undefined) {
        try {
          await (await part.writer).write(blocks);
        } catch (err) {
          part.failed = err;
        }
      }
      this.release(part, blocks);
    });
  }

  private startSegment(sequence: number): SegmentInProgress {
    const { blobs, streamId, broadcastId } = this.options;
    const writer = blobs.createWriter(segmentBlobKey(streamId, broadcastId, sequence));
    const part: SegmentInProgress = { sequence, writer, kept: this.options.wantsSegments?.() ? [] : undefined, failed: undefined };
    // A failure to open is met (and logged) when the segment closes.
    writer.catch((err: unknown) => (part.failed ??= err));
    return part;
  }

  /** A segment that will not be finished: its partial object is removed. */
  private abandon(part: SegmentInProgress): void {
    this.writes = this.writes.then(async () => {
      await (await part.writer.catch(() => undefined))?.abort().catch(() => undefined);
      if (part.kept) for (const block of part.kept) this.blocks.give(block);
      part.kept = undefined;
    });
  }

  private release(part: SegmentInProgress, blocks: readonly Buffer[]): void {
    if (part.kept) part.kept.push(...blocks);
    else for (const block of blocks) this.blocks.give(block);
  }

  private store(segment: HlsSegment): void {
    const { recordings, streamId, broadcastId, log } = this.options;
    if (this.open && this.open.sequence !== segment.sequence) this.abandon(this.open);
    const part = this.open ?? this.startSegment(segment.sequence);
    this.open = undefined;
    const closedAt = performance.now();
    this.writes = this.writes.then(async () => {
      const key = segmentBlobKey(streamId, broadcastId, segment.sequence);
      try {
        let writer: BlobWriter | undefined;
        try {
          if (part.failed !== undefined) throw part.failed;
          writer = await part.writer;
          await writer.write(segment.chunks);
          await writer.commit();
        } catch (err) {
          await writer?.abort().catch(() => undefined);
          throw err;
        } finally {
          this.release(part, segment.chunks);
        }
        this.options.onWritten?.((performance.now() - closedAt) / 1000);
        if (part.kept) {
          const whole = Buffer.concat(part.kept, segment.size);
          for (const block of part.kept) this.blocks.give(block);
          part.kept = undefined;
          this.options.onStored?.(key, segment.sequence, whole);
        }
        // Listed as soon as it can be fetched: players need the stored bytes, not the database row,
        // so the row (and the events it raises) comes after, off the live edge's path.
        this.playlist.add({
          sequence: segment.sequence,
          uri: `${broadcastId}/${segmentFileName(segment.sequence)}`,
          duration: segment.duration,
          discontinuity: segment.discontinuity,
        });
        await recordings.recordSegment(broadcastId, {
          sequence: segment.sequence,
          duration: segment.duration,
          discontinuity: segment.discontinuity,
          blobKey: key,
          size: segment.size,
        });
      } catch (err) {
        if (part.kept) for (const block of part.kept) this.blocks.give(block);
        log.error({ err, streamId, broadcastId, sequence: segment.sequence }, 'storing a segment failed');
      }
    });
  }
}
