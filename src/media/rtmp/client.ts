import { connect as tcpConnect, isIP, type LookupFunction, type Socket } from 'node:net';
import type { EgressPolicy } from '../../core/egress/policy.js';
import type { PublishUrl } from '../../core/relays/publish-url.js';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { ChunkDecoder, ChunkEncoder, DEFAULT_CHUNK_LIMITS } from '../wire/rtmp/chunks.js';
import { commandMessage, decodeCommand } from '../wire/rtmp/commands.js';
import { clientHandshakeC0C1, HANDSHAKE_SIZE } from '../wire/rtmp/handshake.js';
import { controlMessages, MessageType, UserControlEvent, type RtmpMessage } from '../wire/rtmp/messages.js';
import { wrote } from '../wire/fan-out.js';
import { sharedBatchChunks, sharedChunks, type ChunkStreamOf } from './shared-chunks.js';

export type RtmpTarget = PublishUrl;

export class RtmpPublishError extends Error {
  override readonly name = 'RtmpPublishError';
}

export interface ClientOptions {
  /** TLS options for rtmps:// (extra trusted certificates, for instance). */
  tls?: ConnectionOptions;
  /**
   * The egress policy for a destination a user gave: its address is checked at connect time.
   * Absent only for this server's own ingest (the puller's feed).
   */
  egress?: EgressPolicy;
  /** How long connecting, the handshake and the publish command flow may take together. */
  timeoutMs?: number;
  chunkSize?: number;
}

const STREAM_CHUNK = { audio: 4, video: 6, data: 5 } as const;

/** A published message's chunk stream: by its kind, as encoders do. One function, so every destination shares its bytes. */
const chunkStreamByKind: ChunkStreamOf = (message) =>
  message.type === MessageType.Audio ? STREAM_CHUNK.audio : message.type === MessageType.Video ? STREAM_CHUNK.video : STREAM_CHUNK.data;

/**
 * Every failure before an RTMP server has answered the handshake reads the same: a closed port, a
 * silent one and one that speaks another protocol must not be told apart through a relay's
 * status, or relays would scan ports for whoever sets a destination.
 */
export const UNREACHABLE = 'could not reach an RTMP server at the destination';

/** A TLS certificate the server does not trust: worth saying, or a user could not fix an rtmps:// destination. */
function isCertificateError(err: Error): boolean {
  return /^(CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_TLS_CERT|HOSTNAME_MISMATCH)/.test((err as NodeJS.ErrnoException).code ?? '');
}

/**
 * An RTMP client that publishes one stream: connect, handshake (digest form, as Flash Player
 * sends it), connect/releaseStream/FCPublish/createStream/publish, then media messages. Used by
 * relays to push a live stream to YouTube, Twitch or any RTMP(S) server.
 */
export class RtmpPublisher {
  private readonly decoder = new ChunkDecoder(DEFAULT_CHUNK_LIMITS);
  private readonly encoder = new ChunkEncoder();
  private socket: Socket | undefined;
  private streamId = 0;
  private peerWindowAckSize = 0;
  private lastAck = 0;
  private closedReason: string | undefined;
  private readonly closeListeners = new Set<(reason: string) => void>();

  constructor(
    readonly target: RtmpTarget,
    private readonly options: ClientOptions = {},
  ) {}

  /** Bytes waiting in the socket's buffer: how far the destination is behind. */
  get backlog(): number {
    return this.socket?.writableLength ?? 0;
  }

  get bytesSent(): number {
    return this.socket?.bytesWritten ?? 0;
  }

  onClose(listener: (reason: string) => void): void {
    this.closeListeners.add(listener);
  }

  /** Connects and publishes; resolves once the server answered NetStream.Publish.Start. */
  async start(): Promise<void> {
    const { target } = this;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    let guard: { lookup?: LookupFunction } = {};
    try {
      if (this.options.egress) guard = this.options.egress.connectOptions(target.host);
    } catch (err) {
      throw new RtmpPublishError((err as Error).message);
    }
    // SNI carries host names only (RFC 6066); an IP address is still checked against the certificate.
    const socket = target.secure
      ? tlsConnect({ host: target.host, port: target.port, ...(isIP(target.host) ? {} : { servername: target.host }), ...this.options.tls, ...guard })
      : tcpConnect({ host: target.host, port: target.port, ...guard });
    this.socket = socket;
    socket.setNoDelay(true);

    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new RtmpPublishError(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        if (err.name === 'EgressRefusedError') reject(new RtmpPublishError(err.message));
        else if (this.answered) reject(err);
        else if (isCertificateError(err)) reject(new RtmpPublishError(`${UNREACHABLE}: its TLS certificate is not trusted (${(err as NodeJS.ErrnoException).code})`));
        else reject(new RtmpPublishError(UNREACHABLE));
      };
      const closed = () => fail(new RtmpPublishError('the server closed the connection'));
      socket.once('error', fail);
      socket.once('close', closed);
      this.handshakeAndPublish(socket).then(
        () => {
          clearTimeout(timer);
          socket.off('error', fail);
          // Only this listener: a TLS socket frees its OpenSSL state in a 'close' listener of its own.
          socket.off('close', closed);
          resolve();
        },
        (err: Error) => fail(err),
      );
    });

    socket.on('error', (err) => this.closed(`connection error: ${err.message}`));
    socket.on('close', () => this.closed('the server closed the connection'));
  }

  private async handshakeAndPublish(socket: Socket): Promise<void> {
    const reader = new SocketReader(socket);
    if (socket.connecting) await new Promise((resolve) => socket.once(this.target.secure ? 'secureConnect' : 'connect', resolve));
    socket.write(clientHandshakeC0C1(true));
    const s0s1s2 = await reader.read(1 + 2 * HANDSHAKE_SIZE);
    if (s0s1s2[0] !== 3) throw new RtmpPublishError(`server answered RTMP version ${s0s1s2[0]}`);
    this.answered = true;
    // C2 echoes S1; servers that check it (few do) accept the echo.
    socket.write(s0s1s2.subarray(1, 1 + HANDSHAKE_SIZE));

    const chunkSize = this.options.chunkSize ?? 4096;
    this.send(controlMessages.setChunkSize(chunkSize));
    this.encoder.setChunkSize(chunkSize);

    const { app, tcUrl, streamName } = this.target;
    this.send(
      commandMessage(0, 'connect', 1, {
        app,
        type: 'nonprivate',
        flashVer: 'FMLE/3.0 (compatible; streamdelta)',
        tcUrl,
      }),
    );
    await this.expectResult(reader, 1, 'connect');
    this.send(commandMessage(0, 'releaseStream', 2, null, streamName));
    this.send(commandMessage(0, 'FCPublish', 3, null, streamName));
    this.send(commandMessage(0, 'createStream', 4, null));
    const created = await this.expectResult(reader, 4, 'createStream');
    this.streamId = typeof created.args[0] === 'number' ? created.args[0] : 1;
    this.send({ ...commandMessage(this.streamId, 'publish', 5, null, streamName, 'live'), chunkStreamId: 8 });
    for (;;) {
      const cmd = await this.nextCommand(reader);
      if (cmd.name !== 'onStatus') continue;
      const info = (cmd.args[0] ?? {}) as { level?: unknown; code?: unknown; description?: unknown };
      if (info.code === 'NetStream.Publish.Start') {
        this.publishing = true;
        break;
      }
      if (info.level === 'error') throw new RtmpPublishError(`publish refused: ${String(info.code)} ${String(info.description ?? '')}`.trim());
    }
    // From now on incoming data is only control traffic: acknowledgements and pings.
    reader.detach((data) => this.receive(data));
  }

  private async expectResult(reader: SocketReader, transactionId: number, what: string) {
    for (;;) {
      const cmd = await this.nextCommand(reader);
      if (cmd.transactionId !== transactionId) continue;
      if (cmd.name === '_result') return cmd;
      if (cmd.name === '_error') {
        const info = (cmd.args[0] ?? {}) as { code?: unknown; description?: unknown };
        throw new RtmpPublishError(`${what} refused: ${String(info.code ?? '')} ${String(info.description ?? '')}`.trim());
      }
    }
  }

  private pending: RtmpMessage[] = [];
  /** An RTMP server completed the handshake: failures from now on may say what it said. */
  private answered = false;
  /** The server accepted the publish: an onStatus error from now on ends the push. */
  private publishing = false;

  private async nextCommand(reader: SocketReader) {
    for (;;) {
      while (this.pending.length > 0) {
        const message = this.pending.shift()!;
        this.control(message);
        if (message.type === MessageType.CommandAmf0 || message.type === MessageType.CommandAmf3) return decodeCommand(message);
      }
      this.pending.push(...this.decoder.push(await reader.next()));
    }
  }

  private receive(data: Buffer): void {
    try {
      for (const message of this.decoder.push(data)) this.control(message);
    } catch (err) {
      this.close(`protocol error from the server: ${(err as Error).message}`);
    }
  }

  private control(message: RtmpMessage): void {
    if (message.type === MessageType.WindowAckSize && message.payload.length >= 4) {
      this.peerWindowAckSize = message.payload.readUInt32BE(0);
    } else if (message.type === MessageType.UserControl && message.payload.length >= 6) {
      if (message.payload.readUInt16BE(0) === UserControlEvent.PingRequest) {
        this.send(controlMessages.userControl(UserControlEvent.PingResponse, message.payload.readUInt32BE(2)));
      }
    } else if (message.type === MessageType.CommandAmf0) {
      const cmd = decodeCommand(message);
      const info = (cmd.args[0] ?? {}) as { level?: unknown; code?: unknown };
      if (cmd.name === 'onStatus' && info.level === 'error' && this.publishing) {
        this.close(`the server stopped the stream: ${String(info.code)}`);
      }
    }
    if (this.peerWindowAckSize > 0 && this.decoder.bytesReceived - this.lastAck >= this.peerWindowAckSize) {
      this.lastAck = this.decoder.bytesReceived;
      this.send(controlMessages.acknowledgement(this.decoder.bytesReceived % 2 ** 32));
    }
  }

  /** Sends one audio, video or data message on the published stream. */
  sendMedia(message: RtmpMessage): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    // Every destination of the stream framed alike is written the same bytes, chunked once.
    // Not corked: the backlog (writableLength) must count only what the destination has not read.
    socket.write(sharedChunks(message, this.encoder.outChunkSize, chunkStreamByKind(message), this.streamId));
  }

  /** Sends audio, video and data messages, in order, with one write (a live stream's batch, shared likewise). */
  sendMediaBatch(batch: readonly RtmpMessage[]): void {
    const socket = this.socket;
    if (!socket || socket.destroyed || batch.length === 0) return;
    socket.write(sharedBatchChunks(batch, this.encoder.outChunkSize, chunkStreamByKind, this.streamId));
    wrote(socket);
  }

  private send(message: RtmpMessage): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    socket.write(this.encoder.encode(message));
  }

  /** Ends the publish as encoders do (FCUnpublish, deleteStream), then closes. */
  stop(): void {
    if (this.closedReason !== undefined || !this.socket) return;
    const { streamName } = this.target;
    this.send(commandMessage(0, 'FCUnpublish', 6, null, streamName));
    if (this.streamId !== 0) this.send(commandMessage(0, 'deleteStream', 7, null, this.streamId));
    const socket = this.socket;
    this.closedReason = 'stopped';
    socket.end();
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  close(reason: string): void {
    this.socket?.destroy();
    this.closed(reason);
  }

  private closed(reason: string): void {
    if (this.closedReason !== undefined && this.closedReason !== 'stopped') return;
    const first = this.closedReason === undefined;
    this.closedReason ??= reason;
    if (!first) return;
    for (const listener of this.closeListeners) listener(reason);
  }
}

/** Reads exact byte counts, or whatever arrives next, from a socket until detached. */
class SocketReader {
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly onData = (data: Buffer) => {
    this.buffered = this.buffered.length === 0 ? data : Buffer.concat([this.buffered, data]);
    this.wake();
  };
  private readonly onEnd = () => {
    this.failure = new RtmpPublishError('the server closed the connection');
    this.wake();
  };

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private async wait(): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve) => (this.waiter = resolve));
    if (this.failure) throw this.failure;
  }

  async read(n: number): Promise<Buffer> {
    while (this.buffered.length < n) await this.wait();
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  async next(): Promise<Buffer> {
    while (this.buffered.length === 0) await this.wait();
    const out = this.buffered;
    this.buffered = Buffer.alloc(0);
    return out;
  }

  /** Hands the rest of the stream, and whatever is buffered, to `onData`. */
  detach(onData: (data: Buffer) => void): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    const rest = this.buffered;
    this.buffered = Buffer.alloc(0);
    if (rest.length > 0) onData(rest);
    this.socket.on('data', onData);
  }
}
