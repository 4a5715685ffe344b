import type { Bus } from '../bus/bus.js';
import type { BroadcastService } from '../core/broadcasts/broadcasts.js';
import type { RecordingService } from '../core/broadcasts/recordings.js';
import { MediaFactsProbe } from './live/media-facts.js';
import type { GoLiveService } from '../core/broadcasts/go-live.js';
import type { DomainEvent, RelayState } from '../core/kernel/events.js';
import type { ViewingService } from '../core/playback/viewing.js';
import { DisabledError, InUseError, NotFoundError } from '../core/kernel/errors.js';
import type { BroadcastId, StreamId } from '../core/kernel/ids.js';
import type { BlobStore } from '../blob/blob-store.js';
import { HlsRecorder, segmentBlobKey, segmentFileName } from './hls/recorder.js';
import { RecentSegments } from './hls/recent-segments.js';
import { BlockPool } from './wire/mpegts/packet-writer.js';
import { LiveStream } from './live/live-stream.js';
import { LiveStatsRecorder, type LiveStats } from './live/stats.js';
import { RtmpRejection, type Logger, type PublishSink, type RtmpHooks, type StreamRequest } from './rtmp/connection.js';
import { RtmpServer } from './rtmp/server.js';
import { RelaySet, type RelayCore, type RelaySetOptions } from './relay/relays.js';

/**
 * What the media plane needs from the core, and nothing more (as each MediaMTX server declares
 * the few calls it makes of its path manager): the events it follows, the decisions it asks
 * for (may this key publish, may this viewer play, does the stream push), and the facts it
 * reports (publish started and ended, segments recorded, relay states).
 */
export interface MediaCore extends RelayCore {
  events: Pick<Bus<DomainEvent>, 'subscribe'>;
  broadcasts: Pick<BroadcastService, 'recoverNode' | 'beginPublish' | 'nextSegmentSequence' | 'recordSegment' | 'endPublish' | 'endIfIdle' | 'endIfCurrent' | 'recordingFinished'>;
  recordings: Pick<RecordingService, 'noteMedia'>;
  viewing: Pick<ViewingService, 'mayWatch'>;
  goLive: Pick<GoLiveService, 'isPushing'>;
}

export interface MediaPlaneOptions {
  core: MediaCore;
  blobs: BlobStore;
  log: Logger & { error(obj: object, msg: string): void };
  nodeId: string;
  rtmpApp: string;
  /** Seconds; 0 ends a broadcast as soon as its publisher leaves. */
  reconnectWindow: number;
  hlsSegmentDuration: number;
  hlsLiveWindow: number;
  /**
   * How long a live message may wait to be written to RTMP viewers and relay destinations with
   * those after it (0: at once): a couple of video frames at the default, far below what players
   * buffer, and a fan-out does a fraction of the socket writes it would do message by message
   * (see LiveStream).
   */
  writeBatchMs: number;
  relays: RelaySetOptions;
  /**
   * Other RTMP applications publishers may use, each with how it turns a publish name into the
   * stream key (StreamAPI's `hd_receiver/<public_hostid>-<fme_key>`). The main app takes the key as is.
   */
  publishApps?: Record<string, (name: string) => Promise<string | undefined>>;
  /** Open RTMP connections one client address may hold (0: no limit). */
  maxConnectionsPerAddress?: number;
  /** Told how long each segment took from its last frame to being stored, in seconds (a metric). */
  onSegmentWritten?: (seconds: number) => void;
}

/** What this node's media plane carries now, and has carried since it started: read for metrics. */
export interface MediaMetrics {
  /** Broadcasts live on this node (a publisher, or one in its reconnect window). */
  liveStreams: number;
  /** Of those, the ones whose publisher is connected. */
  publishers: number;
  /** RTMP players (relays not counted) and HLS players seen lately. */
  rtmpViewers: number;
  hlsViewers: number;
  /** Audio, video and data bytes received from publishers, of every protocol. */
  ingestBytes: number;
  /** Bytes written to RTMP connections (players, and the few answers publishers get) and to relay destinations. */
  rtmpSentBytes: number;
  relaySentBytes: number;
  /** This node's relays by state. */
  relays: Record<RelayState, number>;
}

/** How many watch a live stream: RTMP viewers and HLS players seen lately. */
export interface ViewerStats {
  current: number;
  max: number;
  total: number;
}

/** An HLS player that fetched nothing for this long has left. */
const HLS_VIEWER_TIMEOUT_MS = 15_000;

/** A stream that is live on this node: its fan-out, its recording, and its reconnect timer. */
interface LiveSession {
  streamId: StreamId;
  broadcastId: BroadcastId;
  live: LiveStream;
  recorder: HlsRecorder;
  relays: RelaySet;
  publisherConnected: boolean;
  /** The relays are switched on (go-live); they run while this and publisherConnected hold. */
  pushing: boolean;
  /** Cuts the connected publisher, if any. */
  disconnectPublisher: ((reason: string) => void) | undefined;
  endTimer: NodeJS.Timeout | undefined;
  /** Seconds the broadcast waits for its publisher to come back (the stream's, else the server's). */
  reconnectWindow: number;
  /** Ends the broadcast when it has run as long as its stream allows. */
  durationTimer: NodeJS.Timeout | undefined;
  /**
   * The broadcast is being ended: its live playlist is gone from the moment the core may record
   * the end, so no player is told it is live after the API says it is not.
   */
  ending: boolean;
  /** HLS players by address, with when each was last seen. */
  hlsViewers: Map<string, number>;
  /** When players fetched its last two segments (not just its playlist), ms: the earlier, then the later. */
  segmentFetches: [number, number];
  maxViewers: number;
  viewersSeen: Set<string>;
  /** Bytes in, bitrate samples, codecs: what the dashboard shows of the session. */
  stats: LiveStatsRecorder;
}

/**
 * The media plane of one node: the RTMP listener, the live streams on it, and their HLS
 * recordings. Every decision (may this key publish, which broadcast continues) is the core's;
 * this class owns sockets, timers and bytes.
 */
export class MediaPlane {
  private readonly sessions = new Map<StreamId, LiveSession>();
  /** Operations on one stream run one after another (publish, leave, end). */
  private readonly queues = new Map<StreamId, Promise<unknown>>();
  private server: RtmpServer | undefined;
  private closing = false;
  private readonly unsubscribe: () => void;
  /** The newest segments of live streams with HLS players, served without reading the blob store. */
  private readonly recentSegments: RecentSegments;
  /** Segments of the live edge being read back from the blob store, by key: one read however many players ask. */
  private readonly segmentsLoading = new Map<string, Promise<Buffer | undefined>>();
  /** The blocks every live stream's segments are cut into and written from, reused. */
  private readonly segmentBlocks = new BlockPool();
  /** What the broadcasts that ended here carried: the totals of metrics() go on past them. */
  private endedIngestBytes = 0;
  private endedRelayBytes = 0;

  constructor(private readonly options: MediaPlaneOptions) {
    // Every segment a live playlist lists, and the one that just left it (a player that read the
    // playlist before may still ask for it): players start a few segments back from the live
    // edge, so keeping only the newest would send some of them to the blob store every time a
    // segment closes.
    this.recentSegments = new RecentSegments(undefined, options.hlsLiveWindow + 1);
    // A destination added, removed, enabled or disabled while its stream is live here takes effect
    // at once, and so does going live or stopping (go-live), whichever node took the request.
    this.unsubscribe = options.core.events.subscribe((event) => {
      if (event.type === 'broadcast.ended') {
        this.endedElsewhere(event.streamId, event.broadcastId);
        return;
      }
      if (event.type === 'stream.key_changed') {
        // The old key stops working at once: its publisher is cut (the broadcast waits out its
        // reconnect window for a publisher with the new key).
        this.sessions.get(event.streamId)?.disconnectPublisher?.('the stream key was reset');
        return;
      }
      if (
        event.type !== 'destination.added' &&
        event.type !== 'destination.updated' &&
        event.type !== 'destination.removed' &&
        event.type !== 'stream.push_started' &&
        event.type !== 'stream.push_stopped'
      ) {
        return;
      }
      if (!this.sessions.has(event.streamId)) return;
      // Inside the stream's queue, so a publish deciding its relays and this switch cannot interleave.
      void this.serial(event.streamId, async () => {
        const session = this.sessions.get(event.streamId);
        if (!session) return;
        if (event.type === 'stream.push_started') session.pushing = true;
        if (event.type === 'stream.push_stopped') session.pushing = false;
        await this.syncRelays(session);
      }).catch((err) => options.log.error({ err, streamId: event.streamId }, 'updating relays failed'));
    });
  }

  /**
   * The core ended a broadcast whose publisher is connected here (its stream was stopped or
   * deleted through an API): the publisher is cut and the recording closed, so nothing goes on
   * feeding a broadcast that has ended. Broadcasts this node ends itself are gone from
   * `sessions` by the time their event arrives.
   */
  private endedElsewhere(streamId: StreamId, broadcastId: BroadcastId): void {
    const session = this.sessions.get(streamId);
    if (!session || session.broadcastId !== broadcastId) return;
    void this.serial(streamId, async () => {
      if (this.sessions.get(streamId) !== session) return;
      session.disconnectPublisher?.('the broadcast was ended');
      await this.finish(session, 'broadcast ended by the core', true);
    }).catch((err) => this.options.log.error({ err, streamId }, 'ending a broadcast failed'));
  }

  /** Ends what this node left open when it last stopped, then listens for RTMP. */
  async start(port: number, host: string): Promise<number> {
    const recovered = await this.options.core.broadcasts.recoverNode(this.options.nodeId);
    if (recovered.length > 0) this.options.log.info({ count: recovered.length }, 'ended broadcasts left open by a previous run');
    this.server = new RtmpServer(this.hooks, this.options.log, undefined, this.options.maxConnectionsPerAddress ?? 0);
    return this.server.listen(port, host);
  }

  /** The live playlist of a stream live on this node, or undefined. */
  livePlaylist(streamId: string): string | undefined {
    const session = this.sessions.get(streamId as StreamId);
    return session && !session.ending ? session.recorder.livePlaylist() : undefined;
  }

  /** A segment of a broadcast live here, from memory when it is one of the newest, else undefined. */
  recentSegment(streamId: string, broadcastId: string, file: string): Buffer | undefined {
    const sequence = Number(/^seg-(\d+)\.ts$/.exec(file)?.[1]);
    if (!Number.isSafeInteger(sequence) || segmentFileName(sequence) !== file) return undefined;
    return this.recentSegments.get(segmentBlobKey(streamId.toLowerCase(), broadcastId.toLowerCase(), sequence));
  }

  /**
   * A segment of the broadcast live here that its live playlist lists, for a player: from memory,
   * or read once from the blob store and then kept with the newest (while players fetch the
   * stream's segments), so that the players who join together (a stream's first viewers, a
   * crowd arriving at once) ask the store once per segment rather than once each. Undefined for
   * any other segment: the caller reads it from the blob store.
   */
  async liveSegment(streamId: string, broadcastId: string, file: string): Promise<Buffer | undefined> {
    const recent = this.recentSegment(streamId, broadcastId, file);
    if (recent) return recent;
    const id = streamId.toLowerCase() as StreamId;
    const session = this.sessions.get(id);
    const sequence = Number(/^seg-(\d+)\.ts$/.exec(file)?.[1]);
    if (!Number.isSafeInteger(sequence) || segmentFileName(sequence) !== file) return undefined;
    if (!session || session.ending || session.broadcastId !== broadcastId.toLowerCase() || !session.recorder.lists(sequence) || !this.keepsRecentSegments(id)) return undefined;
    const key = segmentBlobKey(id, session.broadcastId, sequence);
    let loading = this.segmentsLoading.get(key);
    if (!loading) {
      loading = this.options.blobs
        .get(key)
        .then((data) => {
          // Kept only while the same broadcast is still live here: a stream that ended meanwhile has forgotten its own.
          if (data && this.sessions.get(id) === session && !session.ending) this.recentSegments.add(id, key, sequence, data);
          return data;
        })
        // A failed read is the caller's to make again, through the blob store, and to report.
        .catch(() => undefined)
        .finally(() => this.segmentsLoading.delete(key));
      this.segmentsLoading.set(key, loading);
    }
    return loading;
  }

  /** Counts an HLS player of a stream live here (by address), for viewer statistics. */
  noteHlsViewer(streamId: string, address: string, fetchedSegment = false): void {
    const session = this.sessions.get(streamId as StreamId);
    if (!session) return;
    const now = Date.now();
    session.hlsViewers.set(address, now);
    if (fetchedSegment) session.segmentFetches = [session.segmentFetches[1], now];
    session.viewersSeen.add(`hls:${address}`);
    session.maxViewers = Math.max(session.maxViewers, this.viewerStats(streamId).current);
  }

  /**
   * Whether a live stream's next segment is kept in memory: while players fetch its segments, one
   * after another (two within three segment durations: a player at the live edge fetches one per
   * segment; a single check that a segment is there does not count). When none do, what it kept is
   * dropped.
   */
  private keepsRecentSegments(streamId: StreamId): boolean {
    const earlier = this.sessions.get(streamId)?.segmentFetches[0] ?? 0;
    if (Date.now() - earlier < 3 * this.options.hlsSegmentDuration * 1000) return true;
    this.recentSegments.forget(streamId);
    return false;
  }

  /** What the dashboard shows of a stream live on this node (bitrate, codecs, viewers, reconnect state), or undefined. */
  liveStats(streamId: string): LiveStats | undefined {
    const session = this.sessions.get(streamId as StreamId);
    if (!session || session.ending) return undefined;
    return session.stats.snapshot({ publisherConnected: session.publisherConnected, reconnectWindow: session.reconnectWindow, viewers: this.viewerStats(streamId).current });
  }

  metrics(): MediaMetrics {
    const relays: Record<RelayState, number> = { idle: 0, connecting: 0, live: 0, error: 0 };
    const metrics: MediaMetrics = {
      liveStreams: this.sessions.size,
      publishers: 0,
      rtmpViewers: 0,
      hlsViewers: 0,
      ingestBytes: this.endedIngestBytes,
      rtmpSentBytes: this.server?.traffic().bytesWritten ?? 0,
      relaySentBytes: this.endedRelayBytes,
      relays,
    };
    for (const session of this.sessions.values()) {
      if (session.publisherConnected) metrics.publishers++;
      let relaying = 0;
      for (const state of session.relays.states()) {
        relays[state]++;
        // A live relay is one of the live stream's viewers.
        if (state === 'live') relaying++;
      }
      metrics.rtmpViewers += Math.max(0, session.live.viewerCount - relaying);
      metrics.hlsViewers += this.hlsViewersOf(session);
      metrics.ingestBytes += session.stats.bytes;
      metrics.relaySentBytes += session.relays.bytesSent();
    }
    return metrics;
  }

  /** The HLS players of a live session seen lately; those gone quiet are forgotten. */
  private hlsViewersOf(session: LiveSession): number {
    const cutoff = Date.now() - HLS_VIEWER_TIMEOUT_MS;
    for (const [address, seen] of session.hlsViewers) if (seen < cutoff) session.hlsViewers.delete(address);
    return session.hlsViewers.size;
  }

  viewerStats(streamId: string): ViewerStats {
    const session = this.sessions.get(streamId as StreamId);
    if (!session) return { current: 0, max: 0, total: 0 };
    const current = this.hlsViewersOf(session) + session.live.viewerCount;
    session.maxViewers = Math.max(session.maxViewers, current);
    return { current, max: session.maxViewers, total: session.viewersSeen.size };
  }

  /** Stops listening, ends every live broadcast and waits for recordings to be written. */
  async close(): Promise<void> {
    this.closing = true;
    this.unsubscribe();
    await this.server?.close();
    await Promise.allSettled([...this.queues.values()]);
    for (const session of [...this.sessions.values()]) {
      await this.serial(session.streamId, () => this.finish(session, 'server shutting down', true));
    }
  }

  private serial<T>(streamId: StreamId, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(streamId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(work);
    this.queues.set(streamId, next);
    void next.finally(() => {
      if (this.queues.get(streamId) === next) this.queues.delete(streamId);
    }).catch(() => {});
    return next;
  }

  private readonly hooks: RtmpHooks = {
    publish: (request) => this.publish(request),
    play: async (request, viewer) => {
      if (request.app !== this.options.rtmpApp) throw new RtmpRejection('NetStream.Play.StreamNotFound', 'No such application.');
      const streamId = request.name.toLowerCase() as StreamId;
      const session = this.sessions.get(streamId);
      if (!session || !session.publisherConnected) throw new RtmpRejection('NetStream.Play.StreamNotFound', 'The stream is not live.');
      if (!(await this.options.core.viewing.mayWatch(streamId, request.query.get('token') ?? undefined))) {
        throw new RtmpRejection('NetStream.Play.Failed', 'This stream is private: a valid viewer token is needed.');
      }
      const subscription = session.live.addViewer(viewer);
      session.viewersSeen.add(`rtmp:${request.remoteAddress}:${session.viewersSeen.size}`);
      session.maxViewers = Math.max(session.maxViewers, this.viewerStats(streamId).current);
      return subscription;
    },
  };

  /**
   * A publish from inside this node (a puller's ffmpeg output): the same decisions and the same
   * session as an RTMP publisher's, without a socket, so the stream key never leaves the process
   * and no connection limit counts the server's own feeds. RtmpRejection when refused.
   */
  publishInProcess(key: string, disconnect: (reason: string) => void): Promise<PublishSink> {
    return this.publish({ app: this.options.rtmpApp, name: key, query: new URLSearchParams(), remoteAddress: 'in-process', disconnect });
  }

  private async publish(request: StreamRequest): Promise<PublishSink> {
    const { core, log } = this.options;
    if (this.closing) throw new RtmpRejection('NetStream.Publish.Rejected', 'The server is shutting down.');
    let key: string | undefined = request.name;
    if (request.app !== this.options.rtmpApp) {
      const resolve = this.options.publishApps?.[request.app];
      if (!resolve) throw new RtmpRejection('NetStream.Publish.BadName', 'No such application.');
      key = await resolve(request.name);
      if (key === undefined) throw new RtmpRejection('NetStream.Publish.BadName', 'Unknown stream key.');
    }
    let start;
    try {
      start = await core.broadcasts.beginPublish(key, this.options.nodeId);
    } catch (err) {
      // The key is a secret: refusals are logged by reason, never with the name that was sent.
      if (err instanceof NotFoundError) throw new RtmpRejection('NetStream.Publish.BadName', 'Unknown stream key.');
      if (err instanceof DisabledError) throw new RtmpRejection('NetStream.Publish.BadName', 'The stream is disabled.');
      if (err instanceof InUseError) throw new RtmpRejection('NetStream.Publish.BadName', 'The stream is already being published.');
      throw err;
    }
    const streamId = start.stream.id;
    const session = await this.serial(streamId, async () => {
      let current = this.sessions.get(streamId);
      if (current && current.broadcastId !== start.broadcast.id) {
        // The old broadcast ended while this publish was being decided.
        await this.finish(current, 'replaced', true);
        current = undefined;
      }
      if (current) {
        clearTimeout(current.endTimer);
        current.endTimer = undefined;
        current.recorder.discontinuity();
        current.live.resetForNewPublisher();
      } else {
        const firstSequence = await core.broadcasts.nextSegmentSequence(start.broadcast.id);
        const live = new LiveStream(undefined, this.options.writeBatchMs);
        const recorder = new HlsRecorder({
          recordings: core.broadcasts,
          blobs: this.options.blobs,
          log,
          streamId,
          broadcastId: start.broadcast.id,
          firstSequence,
          segmentDuration: this.options.hlsSegmentDuration,
          liveWindow: this.options.hlsLiveWindow,
          discontinuityFirst: start.resumed,
          // Only streams whose segments players fetch keep the newest in memory: a segment nobody
          // fetches (a stream nobody plays, or one whose playlist alone is watched) would only take memory.
          wantsSegments: () => this.keepsRecentSegments(streamId),
          onStored: (key, sequence, data) => this.recentSegments.add(streamId, key, sequence, data),
          blocks: this.segmentBlocks,
          ...(this.options.onSegmentWritten ? { onWritten: this.options.onSegmentWritten } : {}),
        });
        live.addOutput(recorder);
        const broadcastId = start.broadcast.id;
        live.addOutput(
          new MediaFactsProbe((facts) => {
            void core.recordings.noteMedia(broadcastId, facts).catch((err) => log.error({ err, streamId }, 'noting the media failed'));
          }),
        );
        const relays = new RelaySet(streamId, live, core, this.options.relays);
        const stats = new LiveStatsRecorder(start.broadcast.id, start.broadcast.startedAt);
        live.addOutput(stats);
        current = {
          streamId,
          broadcastId: start.broadcast.id,
          live,
          recorder,
          relays,
          publisherConnected: false,
          disconnectPublisher: undefined,
          pushing: false,
          endTimer: undefined,
          reconnectWindow: start.stream.reconnectWindow ?? this.options.reconnectWindow,
          durationTimer: undefined,
          ending: false,
          hlsViewers: new Map(),
          segmentFetches: [0, 0],
          maxViewers: 0,
          viewersSeen: new Set(),
          stats,
        };
        this.sessions.set(streamId, current);
        // Counted from the broadcast's start: a reconnect does not restart the clock.
        const left = Math.max(0, Date.parse(start.broadcast.startedAt) + start.stream.maxContinuousDuration * 1000 - Date.now());
        const session = current;
        session.durationTimer = setTimeout(() => {
          log.info({ streamId, broadcastId: session.broadcastId }, 'the broadcast ran as long as its stream allows: ending it');
          void core.broadcasts.endIfCurrent(streamId, session.broadcastId).catch((err) => log.error({ err, streamId }, 'ending a broadcast failed'));
        }, left);
        session.durationTimer.unref();
      }
      current.publisherConnected = true;
      current.live.usePayloads(request.payloads);
      current.stats.publisherConnected();
      current.disconnectPublisher = request.disconnect;
      // Relays start with the publish when the stream pushes (not during a preview); they begin
      // at the first keyframe with the codec headers first. Read here, in the stream's queue:
      // a later switch is applied by the event handler after this.
      current.pushing = await core.goLive.isPushing(streamId);
      await this.syncRelays(current);
      return current;
    });
    log.info({ streamId, broadcastId: session.broadcastId, resumed: start.resumed, remoteAddress: request.remoteAddress }, 'publish started');

    let ended = false;
    return {
      onMessage: (message) => {
        session.stats.count(message);
        session.live.publish(message);
      },
      onEnd: (reason) => {
        if (ended) return;
        ended = true;
        void this.serial(streamId, () => this.publisherLeft(session, reason)).catch((err) =>
          log.error({ err, streamId }, 'ending a publish failed'),
        );
      },
    };
  }

  /** Relays on while a publisher is connected and the stream pushes; off otherwise. */
  private async syncRelays(session: LiveSession): Promise<void> {
    if (session.publisherConnected && session.pushing) await session.relays.sync();
    else {
      session.live.flush();
      session.relays.stopAll();
    }
  }

  private async publisherLeft(session: LiveSession, reason: string): Promise<void> {
    const { core, log } = this.options;
    if (this.sessions.get(session.streamId) !== session) return;
    session.publisherConnected = false;
    // Counted from the drop: the seconds left are shown at once, while the recording is flushed.
    session.stats.publisherLeft(this.closing ? 0 : session.reconnectWindow);
    // The publisher's last messages reach viewers and destinations before the relays stop.
    session.live.flush();
    session.relays.stopAll();
    await session.recorder.flush();
    await core.broadcasts.endPublish(session.broadcastId);
    log.info({ streamId: session.streamId, broadcastId: session.broadcastId, reason }, 'publish ended');
    const window = this.closing ? 0 : session.reconnectWindow;
    if (window === 0) {
      await this.finish(session, reason, false);
      return;
    }
    session.endTimer = setTimeout(() => {
      void this.serial(session.streamId, () => this.finish(session, 'reconnect window passed', false)).catch((err) =>
        log.error({ err, streamId: session.streamId }, 'ending a broadcast failed'),
      );
    }, window * 1000);
    session.endTimer.unref();
  }

  /** Ends the broadcast unless its publisher came back; `force` ends it regardless. */
  private async finish(session: LiveSession, reason: string, force: boolean): Promise<void> {
    const { core, log } = this.options;
    if (this.sessions.get(session.streamId) !== session) return;
    if (!force && session.publisherConnected) return;
    clearTimeout(session.endTimer);
    session.live.flush();
    session.relays.stopAll();
    await session.recorder.flush();
    if (force) {
      await core.broadcasts.endPublish(session.broadcastId);
    }
    session.ending = true;
    const ended = await core.broadcasts.endIfIdle(session.broadcastId).catch((err: unknown) => {
      session.ending = false;
      throw err;
    });
    // A publisher came back while the broadcast was being ended: it continues, live playlist and all.
    if (!ended && !force) {
      session.ending = false;
      return;
    }
    clearTimeout(session.durationTimer);
    session.stats.stop();
    await session.recorder.close();
    this.sessions.delete(session.streamId);
    this.endedIngestBytes += session.stats.bytes;
    this.endedRelayBytes += session.relays.bytesSent();
    this.recentSegments.forget(session.streamId);
    await core.broadcasts.recordingFinished(session.streamId, session.broadcastId);
    session.live.end(reason);
    log.info({ streamId: session.streamId, broadcastId: session.broadcastId, reason }, 'broadcast ended');
  }
}
