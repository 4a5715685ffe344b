import type { BlobStore } from '../../blob/blob-store.js';
import type { BroadcastService } from '../../core/broadcasts/broadcasts.js';
import type { BroadcastId, StreamId } from '../../core/kernel/ids.js';
import { parseAudioTag, parseVideoTag } from '../wire/flv.js';
import { MediaFormatError } from '../wire/format-error.js';
import type { MediaOutput } from '../live/live-stream.js';
import { MessageType, type RtmpMessage } from '../wire/rtmp/messages.js';
import type { Logger } from '../rtmp/connection.js';
import { LivePlaylist } from '../wire/hls/playlist.js';
import { HlsSegmenter, type HlsSegment } from './segmenter.js';

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
  /** Told of each segment once it is stored (before the live playlist lists it), with its blob key. */
  onStored?: (key: string, data: HlsSegment['data']) => void;
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
 */
export class HlsRecorder implements MediaOutput {
  private readonly segmenter: HlsSegmenter;
  private readonly playlist: LivePlaylist;
  private writes: Promise<void> = Promise.resolve();
  private malformedLogged = false;

  constructor(private readonly options: HlsRecorderOptions) {
    this.segmenter = new HlsSegmenter({ targetDurationSeconds: options.segmentDuration, firstSequence: options.firstSequence });
    this.playlist = new LivePlaylist(options.liveWindow);
    if (options.discontinuityFirst) this.segmenter.markDiscontinuity();
  }

  onMessage(message: RtmpMessage): void {
    try {
      let segment: HlsSegment | undefined;
      if (message.type === MessageType.Video) segment = this.segmenter.pushVideo(parseVideoTag(message.payload), message.timestamp);
      else if (message.type === MessageType.Audio) segment = this.segmenter.pushAudio(parseAudioTag(message.payload), message.timestamp);
      if (segment) this.store(segment);
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
    await this.writes;
  }

  livePlaylist(): string {
    return this.playlist.render();
  }

  private store(segment: HlsSegment): void {
    const { blobs, recordings, streamId, broadcastId, log } = this.options;
    this.writes = this.writes.then(async () => {
      try {
        const key = segmentBlobKey(streamId, broadcastId, segment.sequence);
        await blobs.put(key, segment.data);
        this.options.onStored?.(key, segment.data);
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
          size: segment.data.length,
        });
      } catch (err) {
        log.error({ err, streamId, broadcastId, sequence: segment.sequence }, 'storing a segment failed');
      }
    });
  }
}
