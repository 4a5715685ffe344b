/**
 * Helpers for the restreaming (relay) end-to-end tests: real receivers (ffmpeg in listen mode,
 * a second streamdelta), an ffmpeg publisher, a TLS front for RTMPS, a TCP tap that can stall,
 * and readers for what the relaying server reports (bus events, GET /streams/{id}).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { AccountId, DestinationId } from '../../../src/core/kernel/ids.js';
import type { RelayState, RelayStatus } from '../../../src/core/kernel/events.js';
import { ChunkDecoder } from '../../../src/media/wire/rtmp/chunks.js';
import { decodeCommand } from '../../../src/media/wire/rtmp/commands.js';
import { HANDSHAKE_SIZE } from '../../../src/media/wire/rtmp/handshake.js';
import { MessageType } from '../../../src/media/wire/rtmp/messages.js';
import type { TestServer } from '../../helpers/server.js';
import { addDestination, newStream, newUser, type RigStreamJson, type User } from '../../api/rig/support.js';
import { ffmpegMissing, makeFlv, run } from '../support.js';

export { ffmpegMissing, makeFlv };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Whether something listens on `port`, read from /proc/net/tcp{,6} so that no probe connection
 * is made (ffmpeg's listen mode takes exactly one connection). Off Linux: undefined.
 */
export function isListening(port: number): boolean | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let seen = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    seen = true;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 3 && fields[1]!.endsWith(`:${hex}`) && fields[3] === '0A') return true;
    }
  }
  return seen ? false : undefined;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function track(child: ChildProcess): Promise<number | null> {
  children.add(child);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(signal ? null : code);
    });
    child.once('error', () => {
      children.delete(child);
      resolve(null);
    });
  });
}

// ---------------------------------------------------------------------------------------
// Receivers.

export interface FfmpegReceiver {
  port: number;
  /** The publish URL a destination points at. */
  url: string;
  /** The FLV file the receiver writes (stream copy of what it was sent). */
  file: string;
  /** Exit status once ffmpeg ended (null: killed by a signal). */
  exited: Promise<number | null>;
  readonly running: boolean;
  stderr(): string;
  /** Waits for ffmpeg to end by itself (the publisher left), killing it after `timeoutMs`. */
  finish(timeoutMs?: number): Promise<number | null>;
  kill(): Promise<void>;
}

/**
 * `ffmpeg -listen 1 -i rtmp://127.0.0.1:PORT/app/name -c copy -f flv FILE`: an RTMP server
 * no one here wrote, taking one publisher and writing what it got. Resolves once it listens.
 */
export async function startFfmpegReceiver(
  dir: string,
  label: string,
  options: { port?: number; app?: string; name?: string } = {},
): Promise<FfmpegReceiver> {
  const port = options.port ?? (await freePort());
  const url = `rtmp://127.0.0.1:${port}/${options.app ?? 'app'}/${options.name ?? label}`;
  const file = join(dir, `${label}-${port}-${Date.now()}.flv`);
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-listen', '1', '-i', url, '-c', 'copy', '-f', 'flv', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  let running = true;
  const exited = track(child).then((code) => {
    running = false;
    return code;
  });
  await waitFor(`ffmpeg receiver ${label} to listen on ${port}`, () => !running || isListening(port) !== false, 10_000);
  if (isListening(port) === undefined) await sleep(500);
  assert.ok(running, `ffmpeg receiver ${label} exited at once:\n${stderr}`);
  return {
    port,
    url,
    file,
    exited,
    get running() {
      return running;
    },
    stderr: () => stderr,
    async finish(timeoutMs = 10_000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (running) child.kill('SIGKILL');
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------
// The publisher.

export interface Publisher {
  startedAt: number;
  /** Resolves when ffmpeg ended, with its status, its stderr and the wall time it took. */
  done: Promise<{ code: number | null; stderr: string; wallMs: number }>;
  kill(): void;
}

/** `ffmpeg -re -i FILE -c copy -f flv rtmp://127.0.0.1:PORT/live/KEY`: an encoder publishing in real time. */
export function publish(rtmpPort: number, key: string, file: string, app = 'live'): Publisher {
  const startedAt = Date.now();
  const child = spawn(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-v', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/${app}/${key}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const done = track(child).then((code) => ({ code, stderr, wallMs: Date.now() - startedAt }));
  return { startedAt, done, kill: () => child.kill('SIGKILL') };
}

// ---------------------------------------------------------------------------------------
// What a receiver got.

export interface Received {
  videoCodec: string | undefined;
  audioCodec: string | undefined;
  width: number | undefined;
  height: number | undefined;
  videoFrames: number;
  audioFrames: number;
  /** Seconds of video: last minus first video timestamp, plus one frame. */
  videoSeconds: number;
  firstVideoTime: number;
  /** Video frames that came out of the decoder. */
  decodedVideoFrames: number;
  /** What ffmpeg said while decoding everything (empty when all was well). */
  decodeErrors: string;
}

/** Decodes a received file completely and measures it. */
export function inspect(file: string, fps = 30): Received {
  assert.ok(existsSync(file), `${file} was never written`);
  const probe = run('ffprobe', [
    '-v',
    'error',
    '-of',
    'json',
    '-show_entries',
    'stream=index,codec_type,codec_name,width,height:packet=stream_index,pts_time,dts_time',
    file,
  ]);
  assert.equal(probe.status, 0, `ffprobe ${file}: ${probe.stderr}`);
  const json = JSON.parse(probe.stdout) as {
    streams?: { index: number; codec_type: string; codec_name: string; width?: number; height?: number }[];
    packets?: { stream_index: number; pts_time?: string; dts_time?: string }[];
  };
  const video = json.streams?.find((s) => s.codec_type === 'video');
  const audio = json.streams?.find((s) => s.codec_type === 'audio');
  const times = (index: number | undefined) =>
    (json.packets ?? []).filter((p) => p.stream_index === index && p.pts_time !== undefined).map((p) => Number(p.pts_time));
  const videoTimes = times(video?.index);
  const audioTimes = times(audio?.index);
  // Where the video's decoding timestamps fail to increase, for the failure message.
  const videoDts = (json.packets ?? []).filter((p) => p.stream_index === video?.index && p.dts_time !== undefined).map((p) => Number(p.dts_time));
  const backwards = videoDts.flatMap((t, i) => (i > 0 && t <= videoDts[i - 1]! ? [`#${i}: ${videoDts[i - 1]} → ${t}`] : []));
  // Decodes every frame; framemd5 keeps the input's time base, so unlike `-f null` it does not
  // complain about frames that round to the same tick of an assumed frame rate.
  const decode = run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-map', '0:v:0', '-map', '0:a:0?', '-f', 'framemd5', '-']);
  const decodedVideoFrames = decode.stdout.split('\n').filter((line) => line.startsWith('0,')).length;
  const decodeErrors = decode.status === 0 ? decode.stderr.trim() : `exit ${decode.status}: ${decode.stderr.trim()}`;
  return {
    videoCodec: video?.codec_name,
    audioCodec: audio?.codec_name,
    width: video?.width,
    height: video?.height,
    videoFrames: videoTimes.length,
    audioFrames: audioTimes.length,
    videoSeconds: videoTimes.length === 0 ? 0 : Math.max(...videoTimes) - Math.min(...videoTimes) + 1 / fps,
    firstVideoTime: videoTimes.length === 0 ? NaN : Math.min(...videoTimes),
    decodedVideoFrames,
    decodeErrors:
      decodeErrors === ''
        ? ''
        : `${decodeErrors.split('\n').slice(0, 5).join('\n')}\n(video DTS ${backwards.length === 0 ? 'always increase' : `fail to increase ${backwards.length} times, first ${backwards.slice(0, 5).join(', ')}`}; first video DTS ${videoDts.slice(0, 8).join(', ')}; ${file})`,
  };
}

/** Asserts that some video came, and that all of it decodes without a word from the decoder. */
export function assertDecodable(label: string, got: Received): void {
  assert.ok(got.videoFrames > 0, `${label}: no video`);
  assert.equal(got.decodeErrors, '', `${label}: decoding errors`);
  assert.equal(got.decodedVideoFrames, got.videoFrames, `${label}: every video frame decodes`);
}

/** Asserts decodable H.264 + AAC video of `seconds` (± `tolerance`). */
export function assertReceived(label: string, got: Received, seconds: number, tolerance = 0.25): void {
  assert.equal(got.videoCodec, 'h264', `${label}: video codec`);
  assert.equal(got.audioCodec, 'aac', `${label}: audio codec`);
  assertDecodable(label, got);
  assert.ok(
    Math.abs(got.videoSeconds - seconds) <= tolerance,
    `${label}: ${got.videoSeconds.toFixed(3)} s of video (${got.videoFrames} frames), expected ${seconds} ± ${tolerance} s`,
  );
  assert.ok(got.audioFrames > 0, `${label}: no audio`);
}

// ---------------------------------------------------------------------------------------
// The relaying server's side: a user, a stream, its destinations, and what it reports.

export interface Fixture {
  user: User;
  stream: RigStreamJson;
  accountId: AccountId;
}

export async function userWithStream(server: TestServer): Promise<Fixture> {
  const user = await newUser(server, 'relay');
  const stream = await newStream(server, user);
  return { user, stream, accountId: user.id as AccountId };
}

export interface AddedDestination {
  number: number;
  id: DestinationId;
}

/** Adds a destination through the rig API and finds its DestinationId in the core. */
export async function destination(server: TestServer, f: Fixture, service: string, streamKey: string): Promise<AddedDestination> {
  const added = await addDestination(server, f.user, f.stream.id, service, streamKey);
  const stream = await server.running.core.streams.getOwned(f.accountId, f.stream.id);
  const found = stream.destinations.find((d) => d.number === added.id);
  assert.ok(found, `destination ${added.id} not in the core`);
  return { number: added.id, id: found.id };
}

export interface RigStatus {
  state: RelayState;
  lastError: string | null;
  bytesSent: number;
  reconnects: number;
  since: string;
}

/** destinations[].status of GET /streams/{id}, by destination number. */
export async function statusesFromApi(server: TestServer, f: Fixture): Promise<Map<number, RigStatus>> {
  const reply = await server.request('GET', `/streams/${f.stream.id}`, { token: f.user.token });
  assert.equal(reply.status, 200, reply.text);
  const destinations = reply.json.payload.destinations as { id: number; status: RigStatus }[];
  return new Map(destinations.map((d) => [d.id, d.status]));
}

export interface StatusEvent extends RelayStatus {
  at: number;
}

/** Every 'relay.status' event the bus carries, as it arrives. */
export class RelayEvents {
  readonly events: StatusEvent[] = [];
  private readonly unsubscribe: () => void;

  constructor(server: TestServer) {
    this.unsubscribe = server.running.core.ctx.bus.subscribe((event) => {
      if (event.type === 'relay.status') this.events.push({ ...event.status, at: Date.now() });
    });
  }

  of(id: DestinationId): StatusEvent[] {
    return this.events.filter((e) => e.destinationId === id);
  }

  /** The states a destination went through, repeats (stats reports) folded. */
  states(id: DestinationId): RelayState[] {
    const out: RelayState[] = [];
    for (const e of this.of(id)) if (out[out.length - 1] !== e.state) out.push(e.state);
    return out;
  }

  last(id: DestinationId): StatusEvent | undefined {
    const all = this.of(id);
    return all[all.length - 1];
  }

  waitFor(what: string, id: DestinationId, check: (e: StatusEvent) => boolean, timeoutMs = 10_000): Promise<StatusEvent> {
    return waitFor(what, () => this.of(id).find(check), timeoutMs);
  }

  /** Waits for the latest status of `id` to be `state`. */
  waitForState(id: DestinationId, state: RelayState, timeoutMs = 10_000): Promise<StatusEvent> {
    return waitFor(`relay ${id} to be ${state} (states so far: ${this.states(id).join(' → ')})`, () => {
      const last = this.last(id);
      return last?.state === state ? last : undefined;
    }, timeoutMs);
  }

  close(): void {
    this.unsubscribe();
  }
}

/** When each HLS segment of the source was stored, as 'segment.written' events say. */
export class SegmentEvents {
  readonly segments: { sequence: number; duration: number; at: number }[] = [];
  private readonly unsubscribe: () => void;

  constructor(server: TestServer, streamId: string) {
    this.unsubscribe = server.running.core.ctx.bus.subscribe((event) => {
      if (event.type === 'segment.written' && event.streamId === streamId) {
        this.segments.push({ sequence: event.sequence, duration: event.duration, at: Date.now() });
      }
    });
  }

  get total(): number {
    return this.segments.reduce((sum, s) => sum + s.duration, 0);
  }

  close(): void {
    this.unsubscribe();
  }
}

// ---------------------------------------------------------------------------------------
// Network pieces in front of receivers.

export interface Closable {
  port: number;
  close(): Promise<void>;
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A self-signed certificate for 127.0.0.1 and localhost made with openssl, or the reason there is none. */
export function selfSignedCertificate(dir: string): { cert: string; key: string; certFile: string } | string {
  const probe = spawnSync('openssl', ['version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) return 'openssl is not on PATH (needed to make the self-signed certificate)';
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const made = run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '1',
    '-subj',
    '/CN=streamdelta relay test',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  if (made.status !== 0) return `openssl could not make a certificate: ${made.stderr.trim()}`;
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile };
}

/** A TLS listener that pipes each connection to a plain RTMP port: an rtmps:// front for a receiver. */
export async function tlsFront(cert: string, key: string, targetPort: number): Promise<Closable & { handshakes: number }> {
  const sockets = new Set<Socket>();
  const state = { handshakes: 0 };
  const server = createTlsServer({ cert, key }, (secure) => {
    state.handshakes++;
    const plain = tcpConnect({ host: '127.0.0.1', port: targetPort });
    sockets.add(secure);
    sockets.add(plain);
    secure.pipe(plain).pipe(secure);
    const end = () => {
      secure.destroy();
      plain.destroy();
    };
    secure.on('error', end).on('close', end);
    plain.on('error', end).on('close', end);
  });
  server.on('tlsClientError', () => {});
  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
  return {
    port,
    get handshakes() {
      return state.handshakes;
    },
    close: () => closeServer(server, sockets),
  };
}

/**
 * A TCP proxy in front of a receiver that keeps what the relay sent, so the RTMP commands it
 * issued can be read back, and that can stall: stop reading from the relay while keeping the
 * connection open. Connections after the first `forwardConnections` are accepted and left hanging.
 */
export async function tapProxy(targetPort: number, options: { forwardConnections?: number } = {}): Promise<
  Closable & { connections: number; stall(): void; sent(index?: number): Buffer; commands(index?: number): string[]; isOpen(index: number): boolean }
> {
  const sockets = new Set<Socket>();
  const captured: Buffer[][] = [];
  const clients: Socket[] = [];
  const forward = options.forwardConnections ?? Infinity;
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    const index = clients.length;
    clients.push(client);
    const chunks: Buffer[] = [];
    captured.push(chunks);
    if (index >= forward) {
      client.resume(); // accepted, read and never answered
      return;
    }
    const upstream = tcpConnect({ host: '127.0.0.1', port: targetPort });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      upstream.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.pipe(client);
  });
  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
  return {
    port,
    get connections() {
      return clients.length;
    },
    isOpen: (index: number) => clients[index] !== undefined && !clients[index].destroyed,
    stall() {
      for (const client of clients) client.pause();
    },
    sent: (index = 0) => Buffer.concat(captured[index] ?? []),
    commands(index = 0) {
      return rtmpCommandsIn(Buffer.concat(captured[index] ?? []));
    },
    close: () => closeServer(server, sockets),
  };
}

/** The command names a client sent: its bytes after C0, C1 and C2, read as RTMP chunks. */
export function rtmpCommandsIn(bytes: Buffer): string[] {
  const decoder = new ChunkDecoder({ maxMessageSize: 64 * 1024 * 1024, maxBufferedBytes: 256 * 1024 * 1024, maxChunkStreams: 1024 });
  const names: string[] = [];
  for (const message of decoder.push(bytes.subarray(1 + 2 * HANDSHAKE_SIZE))) {
    if (message.type === MessageType.CommandAmf0 || message.type === MessageType.CommandAmf3) names.push(decodeCommand(message).name);
  }
  return names;
}

/** A TCP server that accepts connections and never answers: a destination stuck at the handshake. */
export async function silentServer(): Promise<Closable & { connections: number; open: number }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.resume(); // reads (and drops) what comes, so a hang-up is noticed
  });
  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
  return {
    port,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    close: () => closeServer(server, sockets),
  };
}

/**
 * The latest recording of a stream on a receiving streamdelta: its VOD playlist's segments,
 * fetched over HTTP and joined into one MPEG-TS file, with the playlist's total duration.
 */
export async function downloadRecording(server: TestServer, streamId: string, file: string): Promise<{ seconds: number; segments: number }> {
  const reply = await server.request('GET', `/hls/${streamId}/vod.m3u8`);
  assert.equal(reply.status, 200, `VOD playlist: ${reply.status} ${reply.text}`);
  assert.match(reply.text, /#EXT-X-ENDLIST/, 'the recording is finished');
  const durations = [...reply.text.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
  const uris = reply.text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  const parts: Buffer[] = [];
  for (const uri of uris) {
    const segment = await fetch(new URL(uri, `${server.url}/hls/${streamId}/vod.m3u8`));
    assert.equal(segment.status, 200, `segment ${uri}`);
    parts.push(Buffer.from(await segment.arrayBuffer()));
  }
  writeFileSync(file, Buffer.concat(parts));
  return { seconds: durations.reduce((a, b) => a + b, 0), segments: uris.length };
}

/**
 * `ffmpeg -re -stream_loop -1 -i FILE -c copy -f flv rtmp://…/live/KEY`: an encoder that keeps
 * going (a short file over and over) until it is killed or the server cuts it; `exited` says when.
 */
export function encoder(rtmpPort: number, key: string, file: string) {
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/${key}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = track(child);
  return { exited, stderr: () => stderr, kill: () => child.kill('SIGKILL') };
}
