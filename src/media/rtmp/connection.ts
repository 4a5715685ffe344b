import type { Socket } from 'node:net';
import { Amf0Error } from '../wire/amf0.js';
import { ChunkDecoder, ChunkEncoder, ChunkError, type ChunkLimits } from '../wire/rtmp/chunks.js';
import { CommandError, commandMessage, decodeCommand, metadataOf, onStatus, type Command } from '../wire/rtmp/commands.js';
import { HANDSHAKE_SIZE, HandshakeError, serverHandshake } from '../wire/rtmp/handshake.js';
import { controlMessages, MessageType, UserControlEvent, type RtmpMessage } from '../wire/rtmp/messages.js';
import type { PayloadRecycler } from '../wire/arena.js';
import { wrote } from '../wire/fan-out.js';
import { asPublished, sharedBatchChunks } from './shared-chunks.js';

/** Where a publisher's media goes once its publish is authorized. */
export interface PublishSink {
  /** Audio, video and metadata messages, in arrival order. */
  onMessage(message: RtmpMessage): void;
  /** The publisher stopped: unpublished, disconnected or dropped. Called once. */
  onEnd(reason: string): void;
}

/** A viewer as the live stream sees it. */
export interface RtmpViewer {
  /**
   * Queues messages for the viewer, in order; false when the viewer was dropped for not reading.
   * The same array goes to every viewer of the stream: it must not be changed. Payloads are
   * valid only during the call (a publisher's memory is reused): what is queued is a copy.
   */
  send(batch: readonly RtmpMessage[]): boolean;
  /** Ends the viewer's playback and closes its connection. */
  close(reason: string): void;
}

export interface PlaySubscription {
  stop(): void;
}

export interface StreamRequest {
  app: string;
  /** The publish or play name: for a publish this is the stream key, a secret never to be logged. */
  name: string;
  /** Parameters after `?` in the name (a viewer token, for instance). */
  query: URLSearchParams;
  remoteAddress: string;
  /** Drops this connection (a publisher whose broadcast the core ended, for instance). */
  disconnect(reason: string): void;
  /**
   * For a publish: whom to tell which payloads are still read (the live stream's GOP, say), so
   * that the memory of the others is reused. Without one, payloads are left to the collector.
   */
  payloads?: PayloadRecycler;
}

/** Refusal of a publish or play, answered with an onStatus error before the connection closes. */
export class RtmpRejection extends Error {
  override readonly name = 'RtmpRejection';
  constructor(
    readonly code: string,
    readonly description: string,
  ) {
    super(description);
  }
}

export interface RtmpHooks {
  /** Authorizes a publish before any media is accepted; throws RtmpRejection to refuse. */
  publish(request: StreamRequest): Promise<PublishSink>;
  /** Attaches a viewer; throws RtmpRejection to refuse. */
  play(request: StreamRequest, viewer: RtmpViewer): Promise<PlaySubscription>;
}

export interface ConnectionLimits extends ChunkLimits {
  handshakeTimeoutMs: number;
  /** A connection that sends nothing for this long is dropped. */
  idleTimeoutMs: number;
  /** Bytes queued to a viewer that is not reading, beyond which it is dropped. */
  maxViewerBacklog: number;
}

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

const OUT_CHUNK_SIZE = 4096;
const WINDOW_ACK_SIZE = 2_500_000;
const STREAM_ID = 1;

type State = 'handshake-c0c1' | 'handshake-c2' | 'chunks' | 'closed';

/**
 * One RTMP connection on the server side: the handshake, the chunk stream, the command flow
 * of OBS and ffmpeg (connect, releaseStream, FCPublish, createStream, publish, play,
 * FCUnpublish, deleteStream), acknowledgements, and back-pressure towards viewers.
 */
export class RtmpConnection {
  private state: State = 'handshake-c0c1';
  private handshakeBuffer = Buffer.alloc(0);
  private readonly decoder: ChunkDecoder;
  private readonly encoder = new ChunkEncoder();
  private app = '';
  private peerWindowAckSize = 0;
  private lastAckSent = 0;
  private publisher: PublishSink | undefined;
  private subscription: PlaySubscription | undefined;
  /** Messages parsed while an asynchronous decision (publish, play) is pending, in order. */
  private backlog: RtmpMessage[] = [];
  private busy = false;
  private readonly handshakeTimer: NodeJS.Timeout;
  readonly remoteAddress: string;

  constructor(
    private readonly socket: Socket,
    private readonly hooks: RtmpHooks,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
  ) {
    this.decoder = new ChunkDecoder(limits);
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleTimeoutMs);
    socket.on('timeout', () => this.drop('no data within the idle timeout'));
    socket.on('error', (err) => this.drop(`socket error: ${err.message}`));
    socket.on('close', () => this.closed('disconnected'));
    this.handshakeTimer = setTimeout(() => {
      if (this.state.startsWith('handshake')) this.drop('handshake not completed in time');
    }, limits.handshakeTimeoutMs);
  }

  /**
   * The bytes of one read of the socket; `data` may be reused once this returns. Answers whether
   * to read again at once: a publisher in its steady state is read at the pacing interval.
   */
  receive(data: Buffer): boolean {
    this.read(data);
    return this.state !== 'chunks' || this.busy || this.publisher === undefined;
  }

  private read(data: Buffer): void {
    if (this.state === 'closed') return;
    try {
      if (this.state !== 'chunks') {
        data = this.handshake(data);
        if ((this.state as State) !== 'chunks' || data.length === 0) return;
      }
      this.decoder.push(data, this.backlog);
      this.ackIfDue();
      this.process();
    } catch (err) {
      if (err instanceof ChunkError || err instanceof HandshakeError || err instanceof Amf0Error || err instanceof CommandError) {
        this.drop(`protocol error: ${err.message}`);
      } else {
        this.drop(`internal error: ${(err as Error).message}`);
      }
    }
  }

  /** Consumes handshake bytes; returns what follows the handshake. */
  private handshake(data: Buffer): Buffer {
    this.handshakeBuffer = Buffer.concat([this.handshakeBuffer, data]);
    if (this.state === 'handshake-c0c1') {
      if (this.handshakeBuffer.length >= 1 && this.handshakeBuffer[0] !== 3) {
        throw new HandshakeError(`not an RTMP client (first byte 0x${this.handshakeBuffer[0]!.toString(16)})`);
      }
      if (this.handshakeBuffer.length < 1 + HANDSHAKE_SIZE) return Buffer.alloc(0);
      this.socket.write(serverHandshake(this.handshakeBuffer.subarray(0, 1 + HANDSHAKE_SIZE)));
      this.handshakeBuffer = this.handshakeBuffer.subarray(1 + HANDSHAKE_SIZE);
      this.state = 'handshake-c2';
    }
    if (this.handshakeBuffer.length < HANDSHAKE_SIZE) return Buffer.alloc(0);
    // C2 echoes S1; clients differ in what they put there, and nothing depends on it.
    const rest = this.handshakeBuffer.subarray(HANDSHAKE_SIZE);
    this.handshakeBuffer = Buffer.alloc(0);
    this.state = 'chunks';
    clearTimeout(this.handshakeTimer);
    return rest;
  }

  private ackIfDue(): void {
    if (this.peerWindowAckSize > 0 && this.decoder.bytesReceived - this.lastAckSent >= this.peerWindowAckSize) {
      this.lastAckSent = this.decoder.bytesReceived;
      this.send(controlMessages.acknowledgement(this.decoder.bytesReceived % 2 ** 32));
    }
  }

  /** Handles queued messages in order; an asynchronous decision pauses the socket until it is made. */
  private process(): void {
    while (!this.busy && this.backlog.length > 0 && this.state === 'chunks') {
      const message = this.backlog.shift()!;
      const pending = this.handle(message);
      if (pending) {
        this.busy = true;
        this.socket.pause();
        pending
          .catch((err: unknown) => this.drop(`internal error: ${(err as Error).message}`))
          .finally(() => {
            this.busy = false;
            if (this.state === 'closed') return;
            this.socket.resume();
            try {
              this.process();
            } catch (err) {
              this.drop(`protocol error: ${(err as Error).message}`);
            }
          });
      }
    }
  }

  private handle(message: RtmpMessage): Promise<void> | undefined {
    switch (message.type) {
      case MessageType.Audio:
      case MessageType.Video:
        // Media is taken only from an authorized publisher on its own message stream.
        if (this.publisher && message.streamId === STREAM_ID) this.publisher.onMessage(message);
        return undefined;
      case MessageType.Aggregate:
        if (this.publisher && message.streamId === STREAM_ID) for (const m of splitAggregate(message)) this.publisher.onMessage(m);
        return undefined;
      case MessageType.DataAmf0:
      case MessageType.DataAmf3:
        if (this.publisher && metadataOf(message)) this.publisher.onMessage(message);
        return undefined;
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        return this.command(decodeCommand(message));
      case MessageType.WindowAckSize:
        if (message.payload.length >= 4) this.peerWindowAckSize = message.payload.readUInt32BE(0);
        return undefined;
      case MessageType.UserControl:
        if (message.payload.length >= 6 && message.payload.readUInt16BE(0) === UserControlEvent.PingRequest) {
          this.send(controlMessages.userControl(UserControlEvent.PingResponse, message.payload.readUInt32BE(2)));
        }
        return undefined;
      default:
        // SetChunkSize and Abort were applied by the decoder; acknowledgements and the rest need nothing.
        return undefined;
    }
  }

  private command(cmd: Command): Promise<void> | undefined {
    switch (cmd.name) {
      case 'connect':
        return this.connect(cmd);
      case 'releaseStream':
      case 'FCPublish':
      case 'getStreamLength':
        if (cmd.transactionId > 0) this.send(commandMessage(0, '_result', cmd.transactionId, null));
        return undefined;
      case 'createStream':
        this.send(commandMessage(0, '_result', cmd.transactionId, null, STREAM_ID));
        return undefined;
      case 'publish':
        return this.publish(cmd);
      case 'play':
        return this.play(cmd);
      case 'FCUnpublish':
      case 'deleteStream':
      case 'closeStream':
        this.endPublish('unpublished');
        this.endPlay();
        return undefined;
      default:
        return undefined;
    }
  }

  private connect(cmd: Command): undefined {
    const object = cmd.object !== null && typeof cmd.object === 'object' && !Array.isArray(cmd.object) ? cmd.object : {};
    const app = (object as Record<string, unknown>).app;
    this.app = typeof app === 'string' ? app.replace(/\/+$/, '') : '';
    const encoding = (object as Record<string, unknown>).objectEncoding;
    this.send(controlMessages.windowAckSize(WINDOW_ACK_SIZE));
    this.send(controlMessages.setPeerBandwidth(WINDOW_ACK_SIZE));
    this.send(controlMessages.setChunkSize(OUT_CHUNK_SIZE));
    this.encoder.setChunkSize(OUT_CHUNK_SIZE);
    this.send(
      commandMessage(
        0,
        '_result',
        cmd.transactionId,
        { fmsVer: 'FMS/3,5,7,7009', capabilities: 31, mode: 1 },
        {
          level: 'status',
          code: 'NetConnection.Connect.Success',
          description: 'Connection succeeded.',
          objectEncoding: typeof encoding === 'number' ? encoding : 0,
        },
      ),
    );
    return undefined;
  }

  /** The name and its query: parameters some clients append (`name?token=…`) are not part of the name. */
  private streamRequest(cmd: Command): StreamRequest {
    const raw = typeof cmd.args[0] === 'string' ? cmd.args[0] : '';
    const at = raw.indexOf('?');
    return {
      app: this.app,
      name: at < 0 ? raw : raw.slice(0, at),
      query: new URLSearchParams(at < 0 ? '' : raw.slice(at + 1)),
      remoteAddress: this.remoteAddress,
      disconnect: (reason) => this.drop(reason),
    };
  }

  private async publish(cmd: Command): Promise<void> {
    if (this.publisher || this.subscription) {
      this.reject('NetStream.Publish.BadName', 'This connection is already publishing or playing.');
      return;
    }
    try {
      const sink = await this.hooks.publish({ ...this.streamRequest(cmd), payloads: this.decoder });
      if (this.state === 'closed') {
        sink.onEnd('disconnected');
        return;
      }
      // The publisher's media now comes from memory reused GOP after GOP, as its live stream says.
      this.decoder.useArena();
      this.publisher = sink;
      this.send(controlMessages.userControl(UserControlEvent.StreamBegin, STREAM_ID));
      this.send(onStatus(STREAM_ID, 'status', 'NetStream.Publish.Start', 'Start publishing.'));
    } catch (err) {
      if (err instanceof RtmpRejection) this.reject(err.code, err.description);
      else throw err;
    }
  }

  private async play(cmd: Command): Promise<void> {
    if (this.publisher || this.subscription) {
      this.reject('NetStream.Play.Failed', 'This connection is already publishing or playing.');
      return;
    }
    const viewer: RtmpViewer = {
      send: (batch) => this.sendToViewer(batch),
      close: (reason) => {
        this.subscription = undefined;
        this.send(controlMessages.userControl(UserControlEvent.StreamEof, STREAM_ID));
        this.send(onStatus(STREAM_ID, 'status', 'NetStream.Play.UnpublishNotify', 'The stream ended.'));
        this.drop(reason, 'debug');
      },
    };
    // The stream begins before the hub sends anything, so the status messages come first.
    this.send(controlMessages.userControl(UserControlEvent.StreamBegin, STREAM_ID));
    this.send(onStatus(STREAM_ID, 'status', 'NetStream.Play.Reset', 'Playing and resetting.'));
    this.send(onStatus(STREAM_ID, 'status', 'NetStream.Play.Start', 'Started playing.'));
    try {
      const subscription = await this.hooks.play(this.streamRequest(cmd), viewer);
      if (this.state === 'closed') {
        subscription.stop();
      } else {
        this.subscription = subscription;
        // A viewer only receives: silence from it is normal, and while its publisher is away
        // (the reconnect window) nothing flows either way. Back-pressure, not idleness, drops it.
        this.socket.setTimeout(0);
      }
    } catch (err) {
      if (err instanceof RtmpRejection) this.reject(err.code, err.description);
      else throw err;
    }
  }

  private sendToViewer(batch: readonly RtmpMessage[]): boolean {
    if (this.state === 'closed') return false;
    if (this.socket.writableLength > this.limits.maxViewerBacklog) {
      this.drop(`viewer not reading: more than ${this.limits.maxViewerBacklog} bytes queued`);
      return false;
    }
    if (this.socket.destroyed || !this.socket.writable) return true;
    // The same bytes every other viewer of the stream is written, the whole batch in one write:
    // chunked once, never copied per viewer. Written at once, the kernel's buffer takes what it
    // can, so writableLength counts only what the viewer has not read (a burst such as the GOP
    // on joining included).
    this.socket.write(sharedBatchChunks(batch, this.encoder.outChunkSize, asPublished, STREAM_ID));
    wrote(this.socket);
    return true;
  }

  /** Answers with an onStatus error, then closes once it is written. */
  private reject(code: string, description: string): void {
    this.log.info({ remoteAddress: this.remoteAddress, code }, 'rtmp request refused');
    this.send(onStatus(STREAM_ID, 'error', code, description));
    this.state = 'closed';
    this.backlog = [];
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private send(message: RtmpMessage): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(this.encoder.encode(message));
  }

  private endPublish(reason: string): void {
    const sink = this.publisher;
    this.publisher = undefined;
    // Nothing recycles the arena any more: what the connection still sends goes to the collector.
    if (sink) this.decoder.stopArena();
    sink?.onEnd(reason);
  }

  private endPlay(): void {
    const subscription = this.subscription;
    this.subscription = undefined;
    subscription?.stop();
  }

  /** Drops the connection with one log line. */
  drop(reason: string, level: 'info' | 'debug' = 'info'): void {
    if (this.state !== 'closed') {
      this.log[level]({ remoteAddress: this.remoteAddress }, `rtmp connection dropped: ${reason}`);
    }
    this.state = 'closed';
    this.backlog = [];
    this.socket.destroy();
    this.closed(reason);
  }

  private closed(reason: string): void {
    this.state = 'closed';
    clearTimeout(this.handshakeTimer);
    this.endPublish(reason);
    this.endPlay();
  }
}

/** The FLV tags inside an aggregate message, with their timestamps rebased on the aggregate's. */
export function splitAggregate(message: RtmpMessage): RtmpMessage[] {
  const out: RtmpMessage[] = [];
  const data = message.payload;
  let p = 0;
  let firstTimestamp: number | undefined;
  while (p + 11 <= data.length) {
    const type = data[p]!;
    const size = data.readUIntBE(p + 1, 3);
    const timestamp = (data.readUIntBE(p + 4, 3) | (data[p + 7]! << 24)) >>> 0;
    if (p + 11 + size + 4 > data.length) break;
    firstTimestamp ??= timestamp;
    if (type === MessageType.Audio || type === MessageType.Video) {
      out.push({
        chunkStreamId: message.chunkStreamId,
        timestamp: (message.timestamp + (timestamp - firstTimestamp)) >>> 0,
        type,
        streamId: message.streamId,
        payload: Buffer.from(data.subarray(p + 11, p + 11 + size)),
      });
    }
    p += 11 + size + 4;
  }
  return out;
}
