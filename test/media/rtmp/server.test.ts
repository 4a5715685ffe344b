import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Amf0EcmaArray, type Amf0Value } from '../../../src/media/wire/amf0.js';
import { ChunkDecoder, ChunkEncoder, MAX_CHUNK_SIZE } from '../../../src/media/wire/rtmp/chunks.js';
import { commandMessage, dataMessage, decodeCommand, type Command } from '../../../src/media/wire/rtmp/commands.js';
import {
  RtmpRejection,
  type ConnectionLimits,
  type Logger,
  type PlaySubscription,
  type PublishSink,
  type RtmpHooks,
  type RtmpViewer,
  type StreamRequest,
} from '../../../src/media/rtmp/connection.js';
import { clientHandshakeC0C1, findClientDigest, HANDSHAKE_SIZE, serverDigestValid, serverS2Valid } from '../../../src/media/wire/rtmp/handshake.js';
import { controlMessages, MessageType, UserControlEvent, type RtmpMessage } from '../../../src/media/wire/rtmp/messages.js';
import { RtmpServer } from '../../../src/media/rtmp/server.js';
import { LiveStream } from '../../../src/media/live/live-stream.js';

const LIMITS: ConnectionLimits = {
  maxMessageSize: 2 * 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxChunkStreams: 16,
  handshakeTimeoutMs: 300,
  idleTimeoutMs: 2000,
  maxViewerBacklog: 256 * 1024,
};
const WAIT_MS = 5000;
/** For a close that must come at once, not from a timeout or the 2 s fallback after a refusal. */
const PROMPTLY_MS = 1000;

class RecordingSink implements PublishSink {
  readonly messages: RtmpMessage[] = [];
  readonly ends: string[] = [];
  private endedResolve!: () => void;
  readonly ended = new Promise<void>((resolve) => (this.endedResolve = resolve));
  onMessage(message: RtmpMessage): void {
    this.messages.push(message);
  }
  onEnd(reason: string): void {
    this.ends.push(reason);
    this.endedResolve();
  }
}

interface Attached {
  request: StreamRequest;
  viewer: RtmpViewer;
  stops: number;
}

/** Authorizes publishing "good" only (after a short delay, as a database lookup would take). */
class StubHooks implements RtmpHooks {
  readonly publishRequests: StreamRequest[] = [];
  readonly sinks: RecordingSink[] = [];
  readonly attached: Attached[] = [];
  private waiters: ((a: Attached) => void)[] = [];

  async publish(request: StreamRequest): Promise<PublishSink> {
    this.publishRequests.push(request);
    await sleep(30);
    if (request.name !== 'good') throw new RtmpRejection('NetStream.Publish.BadName', 'Unknown stream key.');
    const sink = new RecordingSink();
    this.sinks.push(sink);
    return sink;
  }

  async play(request: StreamRequest, viewer: RtmpViewer): Promise<PlaySubscription> {
    if (request.name === 'missing') throw new RtmpRejection('NetStream.Play.StreamNotFound', 'No such stream.');
    const attached: Attached = { request, viewer, stops: 0 };
    this.attached.push(attached);
    for (const waiter of this.waiters.splice(0)) waiter(attached);
    return { stop: () => attached.stops++ };
  }

  nextViewer(): Promise<Attached> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

class RecordingLog implements Logger {
  readonly lines: string[] = [];
  info(obj: object, msg: string): void {
    this.lines.push(`info ${msg} ${JSON.stringify(obj)}`);
  }
  warn(obj: object, msg: string): void {
    this.lines.push(`warn ${msg} ${JSON.stringify(obj)}`);
  }
  debug(obj: object, msg: string): void {
    this.lines.push(`debug ${msg} ${JSON.stringify(obj)}`);
  }
}

function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A raw TCP connection that records whether and when the server closed it. */
async function rawSocket(port: number): Promise<{ socket: Socket; closed: Promise<void>; received: Buffer[] }> {
  const socket = connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect');
  return { socket, closed, received };
}

/** A small RTMP client: the digest handshake, then chunked messages both ways. */
class TestClient {
  readonly decoder = new ChunkDecoder();
  readonly encoder = new ChunkEncoder();
  /** Every message received, in order. */
  readonly log: RtmpMessage[] = [];
  /** Received messages not yet taken by waitFor. */
  private inbox: RtmpMessage[] = [];
  private waiters: { match: (m: RtmpMessage) => boolean; resolve: (m: RtmpMessage) => void }[] = [];
  private handshakeBytes = Buffer.alloc(0);
  private handshakeDone: (() => void) | undefined;
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.on('error', () => {});
    socket.on('data', (data: Buffer) => this.receive(data));
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  static async open(port: number): Promise<TestClient> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const client = new TestClient(socket);
    await client.handshake();
    return client;
  }

  private async handshake(): Promise<void> {
    const c0c1 = clientHandshakeC0C1(true, 0);
    const digest = findClientDigest(c0c1.subarray(1))!;
    const done = new Promise<void>((resolve) => (this.handshakeDone = resolve));
    this.socket.write(c0c1);
    await withTimeout(done, 'S0+S1+S2');
    const s0 = this.handshakeBytes[0];
    const s1 = this.handshakeBytes.subarray(1, 1 + HANDSHAKE_SIZE);
    const s2 = this.handshakeBytes.subarray(1 + HANDSHAKE_SIZE, 1 + 2 * HANDSHAKE_SIZE);
    assert.equal(s0, 3);
    assert.ok(serverDigestValid(s1), 'S1 carries a valid server digest');
    assert.ok(serverS2Valid(s2, digest), 'S2 answers the client digest');
    const rest = this.handshakeBytes.subarray(1 + 2 * HANDSHAKE_SIZE);
    this.handshakeBytes = Buffer.alloc(0);
    this.socket.write(Buffer.from(s1)); // C2 echoes S1
    if (rest.length > 0) this.deliver(this.decoder.push(rest));
  }

  private receive(data: Buffer): void {
    if (this.handshakeDone) {
      this.handshakeBytes = Buffer.concat([this.handshakeBytes, data]);
      if (this.handshakeBytes.length >= 1 + 2 * HANDSHAKE_SIZE) {
        const done = this.handshakeDone;
        this.handshakeDone = undefined;
        done();
      }
      return;
    }
    this.deliver(this.decoder.push(data));
  }

  private deliver(messages: RtmpMessage[]): void {
    for (const m of messages) {
      this.log.push(m);
      const waiter = this.waiters.find((w) => w.match(m));
      if (waiter) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(m);
      } else {
        this.inbox.push(m);
      }
    }
  }

  waitFor(match: (m: RtmpMessage) => boolean, what: string): Promise<RtmpMessage> {
    const index = this.inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0]!);
    return withTimeout(new Promise((resolve) => this.waiters.push({ match, resolve })), what);
  }

  async waitCommand(name: string, what = name, extra: (c: Command) => boolean = () => true): Promise<Command> {
    const isIt = (m: RtmpMessage): boolean => {
      if (m.type !== MessageType.CommandAmf0) return false;
      const c = decodeCommand(m);
      return c.name === name && extra(c);
    };
    return decodeCommand(await this.waitFor(isIt, what));
  }

  /** The info object of the next onStatus with this code. */
  async waitStatus(code: string): Promise<Record<string, Amf0Value>> {
    const c = await this.waitCommand('onStatus', `onStatus ${code}`, (c) => (c.args[0] as Record<string, Amf0Value> | undefined)?.code === code);
    return c.args[0] as Record<string, Amf0Value>;
  }

  send(...messages: RtmpMessage[]): void {
    this.socket.write(Buffer.concat(messages.map((m) => this.encoder.encode(m))));
  }

  command(streamId: number, name: string, transactionId: number, object: Amf0Value, ...args: Amf0Value[]): void {
    this.send({ ...commandMessage(streamId, name, transactionId, object, ...args), chunkStreamId: streamId === 0 ? 3 : 8 });
  }

  /** connect, then createStream: the message stream id the server gave. */
  async connectAndCreateStream(app = 'live'): Promise<number> {
    this.command(0, 'connect', 1, { app, type: 'nonprivate', flashVer: 'FMLE/3.0 (compatible; FMSc/1.0)', tcUrl: `rtmp://127.0.0.1/${app}` });
    const result = await this.waitCommand('_result', 'connect _result', (c) => c.transactionId === 1);
    assert.equal((result.args[0] as Record<string, Amf0Value>).code, 'NetConnection.Connect.Success');
    this.command(0, 'releaseStream', 2, null, 'good');
    this.command(0, 'FCPublish', 3, null, 'good');
    this.command(0, 'createStream', 4, null);
    const created = await this.waitCommand('_result', 'createStream _result', (c) => c.transactionId === 4);
    return created.args[0] as number;
  }

  close(): void {
    this.socket.destroy();
  }
}

function media(type: number, timestamp: number, payload: number[] | Buffer, streamId = 1): RtmpMessage {
  return { chunkStreamId: type === MessageType.Audio ? 4 : 6, timestamp, type, streamId, payload: Buffer.from(payload) };
}

const avcHeader = (): RtmpMessage => media(MessageType.Video, 0, [0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x1f, 0xff]);
const keyframe = (ts: number, size = 10): RtmpMessage => media(MessageType.Video, ts, Buffer.concat([Buffer.from([0x17, 0x01, 0, 0, 0]), Buffer.alloc(size, ts & 0xff)]));
const aacHeader = (): RtmpMessage => media(MessageType.Audio, 0, [0xaf, 0x00, 0x12, 0x10]);
const aacFrame = (ts: number): RtmpMessage => media(MessageType.Audio, ts, [0xaf, 0x01, 0x21, ts & 0xff]);

/** What the sink saw, without the chunk stream ids (the server may keep them, nobody depends on them). */
const seen = (messages: RtmpMessage[]): unknown[] => messages.map((m) => ({ type: m.type, timestamp: m.timestamp, payload: m.payload.toString('hex') }));

describe('RTMP server over TCP', () => {
  let server: RtmpServer;
  let port: number;
  let hooks: StubHooks;
  let log: RecordingLog;
  const clients: TestClient[] = [];
  const open = async (): Promise<TestClient> => {
    const client = await TestClient.open(port);
    clients.push(client);
    return client;
  };

  before(async () => {
    hooks = new StubHooks();
    log = new RecordingLog();
    server = new RtmpServer(hooks, log, LIMITS);
    port = await server.listen(0, '127.0.0.1');
  });

  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('connects, creates stream 1, publishes "good", delivers media in order, and ends the sink once on FCUnpublish/deleteStream', async () => {
    const client = await open();
    const sinksBefore = hooks.sinks.length;
    const streamId = await client.connectAndCreateStream();
    assert.equal(streamId, 1);
    // connect is answered with the window, bandwidth and chunk size first.
    const types = client.log.map((m) => m.type);
    for (const t of [MessageType.WindowAckSize, MessageType.SetPeerBandwidth, MessageType.SetChunkSize]) {
      assert.ok(types.indexOf(t) >= 0 && types.indexOf(t) < types.indexOf(MessageType.CommandAmf0), `type ${t} before _result`);
    }
    assert.equal(client.decoder.inChunkSize, 4096);
    // releaseStream and FCPublish get their _result too.
    await client.waitCommand('_result', 'releaseStream _result', (c) => c.transactionId === 2);
    await client.waitCommand('_result', 'FCPublish _result', (c) => c.transactionId === 3);

    // Media before publish: on the new stream and on stream 0. Never delivered.
    client.send(keyframe(1, 50), media(MessageType.Video, 2, [0x17, 0x01, 0, 0, 0, 0xee], 0));
    client.command(1, 'publish', 5, null, 'good?token=sekrit', 'live');
    // Media right behind the publish command, before its answer: held until the publish is authorized.
    const pipelined = [
      dataMessage(1, 0, '@setDataFrame', 'onMetaData', new Amf0EcmaArray({ width: 640, height: 360 })),
      avcHeader(),
      aacHeader(),
    ];
    client.send(...pipelined);
    const start = await client.waitStatus('NetStream.Publish.Start');
    assert.equal(start.level, 'status');
    const begin = client.log.find((m) => m.type === MessageType.UserControl && m.payload.readUInt16BE(0) === UserControlEvent.StreamBegin);
    assert.ok(begin, 'StreamBegin sent');
    assert.equal(begin.payload.readUInt32BE(2), 1);

    assert.equal(hooks.sinks.length, sinksBefore + 1);
    const sink = hooks.sinks.at(-1)!;
    const request = hooks.publishRequests.at(-1)!;
    assert.equal(request.app, 'live');
    assert.equal(request.name, 'good');
    assert.equal(request.query.get('token'), 'sekrit');

    const live = [keyframe(100, 3000), aacFrame(110), media(MessageType.Video, 133, [0x27, 0x01, 0, 0, 0, 1, 2, 3]), aacFrame(131), keyframe(166, 9000)];
    client.send(live[0]!, live[1]!);
    // Media on other message streams than the published one is not the publisher's.
    client.send(media(MessageType.Video, 120, [0x27, 0x01, 0, 0, 0, 0xe0], 0), media(MessageType.Audio, 121, [0xaf, 0x01, 0xe1], 7));
    client.send(...live.slice(2));
    client.command(1, 'FCUnpublish', 6, null, 'good');
    client.command(1, 'deleteStream', 7, null, 1);
    await withTimeout(sink.ended, 'sink.onEnd');
    assert.deepEqual(seen(sink.messages), seen([...pipelined, ...live]));
    assert.ok(sink.messages.every((m) => m.streamId === 1));

    // Disconnecting afterwards does not end it again.
    client.close();
    await client.closed;
    await sleep(50);
    assert.deepEqual(sink.ends, ['unpublished']);
    // The stream key and its token are never logged.
    assert.ok(!log.lines.some((line) => line.includes('sekrit')), log.lines.join('\n'));
  });

  it('ends the sink once when a publisher disconnects without unpublishing', async () => {
    const client = await open();
    await client.connectAndCreateStream();
    client.command(1, 'publish', 5, null, 'good', 'live');
    await client.waitStatus('NetStream.Publish.Start');
    const sink = hooks.sinks.at(-1)!;
    client.send(avcHeader());
    await sleep(50);
    client.close();
    await withTimeout(sink.ended, 'sink.onEnd on disconnect');
    await sleep(50);
    assert.equal(sink.ends.length, 1);
    assert.equal(sink.messages.length, 1);
  });

  it('refuses publishing "bad" with an onStatus error, closes the connection, and delivers nothing', async () => {
    const client = await open();
    await client.connectAndCreateStream();
    const sinksBefore = hooks.sinks.length;
    client.command(1, 'publish', 5, null, 'bad', 'live');
    client.send(avcHeader(), keyframe(10), aacHeader());
    const status = await client.waitStatus('NetStream.Publish.BadName');
    assert.equal(status.level, 'error');
    assert.equal(status.description, 'Unknown stream key.');
    assert.ok(!client.log.some((m) => m.type === MessageType.CommandAmf0 && decodeCommand(m).args.some((a) => (a as Record<string, unknown> | null)?.code === 'NetStream.Publish.Start')));
    await withTimeout(client.closed, 'the server closing a refused publisher', PROMPTLY_MS);
    assert.equal(hooks.sinks.length, sinksBefore, 'no sink was made, so nothing was delivered');
    assert.equal(hooks.publishRequests.at(-1)!.name, 'bad');
  });

  it('refuses a second publish on the same connection', async () => {
    const client = await open();
    await client.connectAndCreateStream();
    client.command(1, 'publish', 5, null, 'good', 'live');
    await client.waitStatus('NetStream.Publish.Start');
    const sink = hooks.sinks.at(-1)!;
    client.command(1, 'publish', 6, null, 'good', 'live');
    const status = await client.waitStatus('NetStream.Publish.BadName');
    assert.equal(status.level, 'error');
    await withTimeout(client.closed, 'close after a second publish', PROMPTLY_MS);
    await withTimeout(sink.ended, 'the first publish ended');
    assert.equal(sink.ends.length, 1);
  });

  it('closes sockets that send garbage, an HTTP request, a truncated handshake or nothing; a good client still works', async () => {
    const garbage = [
      Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), // a TLS ClientHello
      Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8.0\r\n\r\n'),
      Buffer.from([0x06, ...Buffer.alloc(1536)]), // RTMPE
    ];
    const closings: Promise<void>[] = [];
    for (const bytes of garbage) {
      const raw = await rawSocket(port);
      raw.socket.write(bytes);
      closings.push(withTimeout(raw.closed, `close after ${bytes.subarray(0, 8).toString('hex')}`, PROMPTLY_MS));
    }
    // C0 and part of C1, then silence: dropped by the handshake timeout, well before the idle timeout.
    const truncated = await rawSocket(port);
    truncated.socket.write(Buffer.concat([Buffer.from([0x03]), Buffer.alloc(100)]));
    closings.push(withTimeout(truncated.closed, 'close after a truncated handshake', LIMITS.handshakeTimeoutMs + PROMPTLY_MS));
    // Nothing at all.
    const silent = await rawSocket(port);
    closings.push(withTimeout(silent.closed, 'close of a silent socket', LIMITS.handshakeTimeoutMs + PROMPTLY_MS));
    // A plausible handshake followed by random chunk bytes.
    const noisy = await rawSocket(port);
    let x = 0x12345678;
    const noise = Buffer.alloc(1 + 1536 + 1536 + 4000, 0).map((_, i) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return i === 0 ? 3 : x & 0xff;
    });
    noisy.socket.write(noise);
    closings.push(withTimeout(noisy.closed, 'close after random chunk data', LIMITS.idleTimeoutMs + 2000));

    await Promise.all(closings);
    assert.deepEqual(truncated.received, [], 'no answer to half a C1');
    assert.ok(Buffer.concat(noisy.received).length >= 1 + 2 * 1536, 'the plausible handshake was answered');

    const client = await open();
    assert.equal(await client.connectAndCreateStream(), 1);
    client.command(1, 'publish', 5, null, 'good', 'live');
    await client.waitStatus('NetStream.Publish.Start');
    client.close();
  });

  it('accepts a SetChunkSize of 0x7fffffff from the client and still parses large messages', async () => {
    const client = await open();
    await client.connectAndCreateStream();
    client.command(1, 'publish', 5, null, 'good', 'live');
    await client.waitStatus('NetStream.Publish.Start');
    const sink = hooks.sinks.at(-1)!;
    client.send(controlMessages.setChunkSize(MAX_CHUNK_SIZE));
    client.encoder.setChunkSize(MAX_CHUNK_SIZE);
    const big = keyframe(40, 1_500_000);
    const small = aacFrame(41);
    client.send(big, small);
    client.command(1, 'deleteStream', 6, null, 1);
    await withTimeout(sink.ended, 'the end of the publish');
    assert.deepEqual(seen(sink.messages), seen([big, small]));
    client.close();
  });

  it('acknowledges received bytes at the window the client sets, and answers pings', async () => {
    const client = await open();
    await client.connectAndCreateStream();
    client.send(controlMessages.windowAckSize(10_000));
    client.command(1, 'publish', 5, null, 'good', 'live');
    await client.waitStatus('NetStream.Publish.Start');
    client.send(keyframe(1, 30_000));
    const ack = await client.waitFor((m) => m.type === MessageType.Acknowledgement, 'an acknowledgement');
    assert.ok(ack.payload.readUInt32BE(0) >= 10_000, `acknowledged ${ack.payload.readUInt32BE(0)} bytes`);
    client.send(controlMessages.userControl(UserControlEvent.PingRequest, 0xcafe));
    const pong = await client.waitFor((m) => m.type === MessageType.UserControl && m.payload.readUInt16BE(0) === UserControlEvent.PingResponse, 'a ping response');
    assert.equal(pong.payload.readUInt32BE(2), 0xcafe);
    client.close();
  });

  it('drops a connection that announces a message longer than maxMessageSize, ending its publish', async () => {
    const client = await open();
    await client.connectAndCreateStream();
    client.command(1, 'publish', 5, null, 'good', 'live');
    await client.waitStatus('NetStream.Publish.Start');
    const sink = hooks.sinks.at(-1)!;
    // A fmt 0 header on chunk stream 6 announcing 3 MiB (over this server's 2 MiB, under the default 8 MiB), and no payload.
    const header = Buffer.alloc(12);
    header[0] = 6;
    header.writeUIntBE(3 * 1024 * 1024, 4, 3);
    header[7] = MessageType.Video;
    header.writeUInt32LE(1, 8);
    client.socket.write(header);
    await withTimeout(client.closed, 'the server dropping the connection', PROMPTLY_MS);
    await withTimeout(sink.ended, 'the publish ending');
    assert.equal(sink.ends.length, 1);
    assert.ok(log.lines.some((l) => l.includes('exceeds the limit')), 'the reason is logged');
  });

  it('plays: status first, then what the stream sends, and an end of stream when the viewer is closed', async () => {
    const client = await open();
    await client.connectAndCreateStream();
    const attachedNext = hooks.nextViewer();
    client.command(1, 'play', 0, null, 'good?token=v');
    await client.waitStatus('NetStream.Play.Start');
    const attached = await withTimeout(attachedNext, 'the viewer to attach');
    assert.equal(attached.request.name, 'good');
    assert.equal(attached.request.query.get('token'), 'v');
    const frame = { ...keyframe(7, 100), chunkStreamId: 6, streamId: 99 };
    assert.equal(attached.viewer.send([frame]), true);
    const got = await client.waitFor((m) => m.type === MessageType.Video, 'a video message');
    assert.equal(got.streamId, 1, 'sent on the viewer’s own message stream');
    assert.deepEqual(got.payload, frame.payload);
    attached.viewer.close('publisher left');
    await client.waitStatus('NetStream.Play.UnpublishNotify');
    assert.ok(client.log.some((m) => m.type === MessageType.UserControl && m.payload.readUInt16BE(0) === UserControlEvent.StreamEof));
    await withTimeout(client.closed, 'close after the stream ended', PROMPTLY_MS);
    assert.equal(attached.viewer.send([frame]), false, 'a closed viewer takes nothing');
  });

  it('refuses a play the hooks refuse, with their code', async () => {
    const client = await open();
    await client.connectAndCreateStream();
    client.command(1, 'play', 0, null, 'missing');
    const status = await client.waitStatus('NetStream.Play.StreamNotFound');
    assert.equal(status.level, 'error');
    await withTimeout(client.closed, 'close after a refused play', PROMPTLY_MS);
  });

  it('drops a viewer that stops reading once its backlog passes maxViewerBacklog, holding no more than that', async () => {
    const client = await open();
    await client.connectAndCreateStream();
    const attachedNext = hooks.nextViewer();
    client.command(1, 'play', 0, null, 'good');
    await client.waitStatus('NetStream.Play.Start');
    const attached = await withTimeout(attachedNext, 'the viewer to attach');
    // It reads at first.
    assert.equal(attached.viewer.send([keyframe(1, 1000)]), true);
    await client.waitFor((m) => m.type === MessageType.Video, 'the first frame');

    client.socket.pause();
    const serverSockets = (server as unknown as { sockets: Set<Socket> }).sockets;
    assert.ok(serverSockets instanceof Set && serverSockets.size > 0);
    const frameSize = 64 * 1024;
    let pushed = 0;
    let mostQueued = 0;
    let accepted = true;
    for (let i = 0; i < 2000 && accepted; i++) {
      accepted = attached.viewer.send([keyframe(10 + i, frameSize)]);
      if (accepted) pushed += frameSize;
      for (const s of serverSockets) mostQueued = Math.max(mostQueued, s.writableLength);
      // Let the socket hand what it can to the kernel, as the event loop would between messages.
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(accepted, false, `the viewer was never dropped after ${pushed} bytes`);
    // The queue in the server never went past the limit by more than one message (with its chunk headers).
    assert.ok(mostQueued <= LIMITS.maxViewerBacklog + frameSize + 1024, `${mostQueued} bytes queued for one viewer`);
    // What was accepted is bounded by the limit plus what the kernel buffers hold.
    assert.ok(pushed < 64 * 1024 * 1024, `${pushed} bytes accepted before the drop`);
    assert.ok(log.lines.some((l) => l.includes('viewer not reading')), 'dropped for not reading, not for something else');
    assert.equal(attached.stops, 1, 'the subscription was stopped');
    assert.equal(attached.viewer.send([keyframe(99_999, 10)]), false);
    client.socket.resume();
    await withTimeout(client.closed, 'the dropped viewer’s connection closing');
  });

  it('writes a fan-out to a fast and a slow viewer alike: what the slow one queued is never written over by later batches', async () => {
    // The fast viewer takes every batch at once, so its bytes' memory is reused for the next
    // batch; the slow one's queue must keep its own bytes intact all the same.
    const live = new LiveStream();
    const attach = async (): Promise<TestClient> => {
      const client = await open();
      await client.connectAndCreateStream();
      const attachedNext = hooks.nextViewer();
      client.command(1, 'play', 0, null, 'good');
      await client.waitStatus('NetStream.Play.Start');
      live.addViewer((await withTimeout(attachedNext, 'the viewer to attach')).viewer);
      return client;
    };
    const fast = await attach();
    const slow = await attach();
    slow.socket.pause();
    const serverSockets = (server as unknown as { sockets: Set<Socket> }).sockets;
    const size = 24 * 1024;
    const sent: Buffer[] = [];
    let afterQueueing = 0;
    for (let i = 0; i < 4000 && afterQueueing < 6; i++) {
      const payload = Buffer.alloc(size + 5);
      payload.set([0x27, 0x01, 0, 0, 0]);
      for (let p = 5; p < payload.length; p += 4) payload.writeUInt32BE(i * 100_003 + p, p);
      live.publish({ chunkStreamId: 6, timestamp: i * 33, type: MessageType.Video, streamId: 1, payload });
      sent.push(payload);
      if ([...serverSockets].some((s) => s.writableLength > 0)) afterQueueing++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(afterQueueing >= 6, 'the slow viewer never queued anything: the test proves nothing');
    slow.socket.resume();
    const videoOf = (client: TestClient) => client.log.filter((m) => m.type === MessageType.Video);
    for (const [name, client] of [['fast', fast], ['slow', slow]] as const) {
      const deadline = Date.now() + WAIT_MS;
      while (videoOf(client).length < sent.length && Date.now() < deadline) await sleep(20);
      const got = videoOf(client);
      assert.equal(got.length, sent.length, `the ${name} viewer got every frame`);
      got.forEach((m, i) => assert.ok(m.payload.equals(sent[i]!), `the ${name} viewer's frame ${i} is what was published`));
    }
    live.end('done');
  });

  it('closes every connection when the server stops', async () => {
    const own = new RtmpServer(new StubHooks(), new RecordingLog(), LIMITS);
    const ownPort = await own.listen(0, '127.0.0.1');
    const client = await TestClient.open(ownPort);
    await client.connectAndCreateStream();
    // At once, not when the idle timeout would have dropped the client anyway.
    await withTimeout(own.close(), 'server close', PROMPTLY_MS);
    await withTimeout(client.closed, 'the client being closed', PROMPTLY_MS);
  });
});
