/**
 * Helpers for the end-to-end tests of the live media plane: real ffmpeg publishers and RTMP
 * viewers, ffprobe on what the server serves over HTTP, the rig API for accounts, streams and
 * live state, and a recorder of the media events on the bus.
 *
 * Every child process runs asynchronously: the server under test lives in this process, so a
 * synchronous spawn that fetches from it (ffprobe on an HTTP URL) would wait for itself forever.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { DomainEvent } from '../../../src/core/kernel/events.js';
import type { StreamId } from '../../../src/core/kernel/ids.js';
import type { TestServer } from '../../helpers/server.js';
import { newStream, newUser, type RigStreamJson, type User } from '../../api/rig/support.js';

export { ffmpegMissing } from '../support.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------
// Child processes.

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface Finished {
  /** Exit status; null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

export interface Child {
  pid: number | undefined;
  startedAt: number;
  done: Promise<Finished>;
  readonly running: boolean;
  stdout(): string;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts a program; `timeoutMs` kills it (SIGKILL) if it is still running then. */
export function start(command: string, args: readonly string[], timeoutMs = 60_000): Child {
  const startedAt = Date.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  let running = true;
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Finished>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      children.delete(child);
      running = false;
      resolve({ code, signal, stdout, stderr, wallMs: Date.now() - startedAt });
    };
    child.once('error', (err) => {
      stderr += `spawn error: ${err.message}`;
      finish(null, null);
    });
    child.once('close', finish);
  });
  return {
    pid: child.pid,
    startedAt,
    done,
    get running() {
      return running;
    },
    stdout: () => stdout,
    stderr: () => stderr,
    kill: (signal = 'SIGKILL') => {
      if (running) child.kill(signal);
    },
  };
}

/** Runs a program to its end. */
export function run(command: string, args: readonly string[], timeoutMs = 60_000): Promise<Finished> {
  return start(command, args, timeoutMs).done;
}

// ---------------------------------------------------------------------------------------
// Publishers and viewers.

export const rtmpUrl = (server: TestServer, name: string, app = 'live') => `rtmp://127.0.0.1:${server.running.rtmpPort}/${app}/${name}`;

/**
 * An encoder: `ffmpeg -re` with a generated H.264/AAC source (320x240 test pattern at 30 fps with
 * a 1 s GOP, a 440 Hz tone) bounded to `seconds`, published as FLV to `url`.
 */
export function publish(url: string, seconds: number): Child {
  return start(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=30',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=44100',
      '-t',
      String(seconds),
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-tune',
      'zerolatency',
      '-g',
      '30',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-f',
      'flv',
      url,
    ],
    (seconds + 20) * 1000,
  );
}

/** Waits for an encoder that should have published everything: it exits 0 and says nothing at -v error. */
export async function assertPublished(label: string, publisher: Child): Promise<Finished> {
  const result = await publisher.done;
  assert.equal(result.code, 0, `${label}: ffmpeg exited with ${result.code ?? result.signal}:\n${result.stderr}`);
  assert.equal(result.stderr.trim(), '', `${label}: ffmpeg reported problems`);
  return result;
}

/** Waits for an encoder that should have been refused: it exits non-zero, quickly. */
export async function assertRefused(label: string, publisher: Child, withinMs = 5_000): Promise<Finished> {
  const result = await publisher.done;
  assert.notEqual(result.code, 0, `${label}: ffmpeg exited 0 but should have been refused:\n${result.stderr}`);
  assert.equal(result.signal, null, `${label}: ffmpeg had to be killed (${result.signal}) instead of being refused:\n${result.stderr}`);
  assert.ok(result.wallMs < withinMs, `${label}: refused only after ${result.wallMs} ms`);
  return result;
}

export interface Playback {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Video frames decoded, from ffmpeg's -progress report. */
  frames: number;
  stderr: string;
}

/** An RTMP viewer: `ffmpeg -i rtmp://… -t SECONDS -f null -`, decoding what it gets. */
export async function playRtmp(url: string, seconds: number, timeoutMs = (seconds + 15) * 1000): Promise<Playback> {
  const result = await run(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-v', 'error', '-progress', 'pipe:1', '-nostats', '-i', url, '-t', String(seconds), '-f', 'null', '-'],
    timeoutMs,
  );
  const frames = [...result.stdout.matchAll(/^frame=(\d+)$/gm)].map((m) => Number(m[1]));
  return { code: result.code, signal: result.signal, frames: frames.length === 0 ? 0 : Math.max(...frames), stderr: result.stderr };
}

// ---------------------------------------------------------------------------------------
// The server's side: users, streams, live state, files.

export interface Fixture {
  user: User;
  stream: RigStreamJson;
}

export async function userWithStream(server: TestServer, prefix = 'media'): Promise<Fixture> {
  const user = await newUser(server, prefix);
  const stream = await newStream(server, user);
  return { user, stream };
}

/** payload.isStreaming of GET /streams/{id}. */
export async function isStreaming(server: TestServer, f: Fixture): Promise<boolean> {
  const reply = await server.request('GET', `/streams/${f.stream.id}`, { token: f.user.token });
  assert.equal(reply.status, 200, reply.text);
  const value = reply.json.payload.isStreaming;
  assert.equal(typeof value, 'boolean', reply.text);
  return value as boolean;
}

export function waitForStreaming(server: TestServer, f: Fixture, expected: boolean, timeoutMs = 10_000): Promise<true> {
  return waitFor(`isStreaming to be ${expected}`, async () => (await isStreaming(server, f)) === expected, timeoutMs);
}

/** Every file the server wrote under its media directory, relative to it, sorted. */
export function mediaFiles(server: TestServer): string[] {
  const root = join(server.running.config.dataDir, 'media');
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(root, path));
    }
  };
  walk(root);
  return out.sort();
}

/** GET as text, with the status. */
export async function getText(server: TestServer, path: string): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(`${server.url}${path}`);
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
}

// ---------------------------------------------------------------------------------------
// Bus events.

export type MediaEvent = Extract<
  DomainEvent,
  { type: 'broadcast.started' | 'broadcast.ended' | 'publish.started' | 'publish.ended' | 'segment.written' }
>;

const MEDIA_EVENTS = new Set(['broadcast.started', 'broadcast.ended', 'publish.started', 'publish.ended', 'segment.written']);

/** The media events the bus carries for one stream, in arrival order. */
export class StreamEvents {
  readonly events: MediaEvent[] = [];
  private readonly unsubscribe: () => void;

  constructor(server: TestServer, readonly streamId: string) {
    this.unsubscribe = server.running.core.ctx.bus.subscribe((event) => {
      if (MEDIA_EVENTS.has(event.type) && (event as MediaEvent).streamId === streamId) this.events.push(event as MediaEvent);
    });
  }

  of<T extends MediaEvent['type']>(type: T): Extract<MediaEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<MediaEvent, { type: T }> => e.type === type);
  }

  /** The event types in order, runs of segment.written folded into one `segment.written×N`. */
  sequence(): string[] {
    const out: string[] = [];
    let run = 0;
    for (const event of this.events) {
      if (event.type === 'segment.written') {
        run++;
        continue;
      }
      if (run > 0) out.push(`segment.written×${run}`);
      run = 0;
      out.push(event.type);
    }
    if (run > 0) out.push(`segment.written×${run}`);
    return out;
  }

  waitFor<T extends MediaEvent['type']>(type: T, count = 1, timeoutMs = 10_000): Promise<Extract<MediaEvent, { type: T }>[]> {
    return waitFor(`${count} × ${type} (so far: ${this.sequence().join(', ') || 'nothing'})`, () => {
      const found = this.of(type);
      return found.length >= count ? found : undefined;
    }, timeoutMs);
  }

  close(): void {
    this.unsubscribe();
  }
}

// ---------------------------------------------------------------------------------------
// Playlists and recordings.

export interface Entry {
  uri: string;
  duration: number;
  discontinuity: boolean;
}

export interface Playlist {
  tags: string[];
  entries: Entry[];
}

export function parsePlaylist(text: string): Playlist {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  assert.equal(lines[0], '#EXTM3U', `not a playlist:\n${text}`);
  const tags: string[] = [];
  const entries: Entry[] = [];
  let duration: number | undefined;
  let discontinuity = false;
  for (const line of lines) {
    if (line.startsWith('#EXTINF:')) duration = Number(line.slice('#EXTINF:'.length).split(',')[0]);
    else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line.startsWith('#')) tags.push(line);
    else {
      assert.ok(duration !== undefined && Number.isFinite(duration), `segment ${line} without #EXTINF`);
      entries.push({ uri: line, duration, discontinuity });
      duration = undefined;
      discontinuity = false;
    }
  }
  return { tags, entries };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

export interface RecordingExpectation {
  /** Seconds of media the encoder(s) sent. */
  seconds: number;
  tolerance?: number;
  /** Number of #EXT-X-DISCONTINUITY tags (a reconnect each). Default 0. */
  discontinuities?: number;
  /** Target segment duration. Default 2. */
  segmentSeconds?: number;
}

export interface CheckedRecording {
  playlist: Playlist;
  /** Seconds: the sum of the #EXTINF durations. */
  total: number;
}

/**
 * The whole check of one finished broadcast's recording, through HTTP as a player sees it:
 * `/hls/<stream>/<broadcast>/vod.m3u8` is a VOD playlist (PLAYLIST-TYPE:VOD, ENDLIST) whose
 * segments each probe clean with H.264 and AAC, last about a target duration (a segment that
 * ends where a publisher left may be shorter), carry monotonic timestamps across the whole
 * playlist, add up to what was sent, and that ffmpeg reads end to end without a warning.
 */
export async function checkRecording(server: TestServer, streamId: string, broadcastId: string, expect: RecordingExpectation): Promise<CheckedRecording> {
  const tolerance = expect.tolerance ?? 0.5;
  const target = expect.segmentSeconds ?? 2;
  const path = `/hls/${streamId}/${broadcastId}/vod.m3u8`;
  const reply = await getText(server, path);
  assert.equal(reply.status, 200, `${path}: ${reply.status} ${reply.text}`);
  assert.match(reply.type, /^application\/vnd\.apple\.mpegurl/, `${path}: content-type`);
  const playlist = parsePlaylist(reply.text);
  assert.ok(playlist.tags.includes('#EXT-X-PLAYLIST-TYPE:VOD'), `${path} has no #EXT-X-PLAYLIST-TYPE:VOD:\n${reply.text}`);
  assert.equal(playlist.tags[playlist.tags.length - 1], '#EXT-X-ENDLIST', `${path} does not end with #EXT-X-ENDLIST:\n${reply.text}`);
  assert.ok(playlist.entries.length > 0, `${path} lists no segments`);
  assert.equal(
    playlist.entries.filter((e) => e.discontinuity).length,
    expect.discontinuities ?? 0,
    `#EXT-X-DISCONTINUITY tags in ${path}:\n${reply.text}`,
  );
  const targetTag = playlist.tags.find((t) => t.startsWith('#EXT-X-TARGETDURATION:'));
  assert.ok(targetTag, `${path}: no #EXT-X-TARGETDURATION`);
  const targetDuration = Number(targetTag.split(':')[1]);
  for (const entry of playlist.entries) {
    assert.ok(Math.round(entry.duration) <= targetDuration, `${entry.uri}: ${entry.duration} s is longer than the target duration ${targetDuration}`);
  }

  // Durations: a full segment lasts about the target; one cut short by a publisher leaving
  // (the last one, and the one before each discontinuity) may be shorter, never longer.
  playlist.entries.forEach((entry, i) => {
    const next = playlist.entries[i + 1];
    const endsPublish = next === undefined || next.discontinuity;
    assert.ok(entry.duration > 0, `${entry.uri}: duration ${entry.duration}`);
    if (endsPublish) assert.ok(entry.duration <= target + 0.25, `${entry.uri} (last of a publish): ${entry.duration} s`);
    else assert.ok(Math.abs(entry.duration - target) <= 0.25, `${entry.uri}: ${entry.duration} s, expected about ${target} s\n${reply.text}`);
  });
  const total = sum(playlist.entries.map((e) => e.duration));
  assert.ok(Math.abs(total - expect.seconds) <= tolerance, `${path}: ${total.toFixed(3)} s of segments, expected ${expect.seconds} ± ${tolerance} s`);

  // Each segment on its own: nothing for ffprobe -v error to say, H.264 and AAC inside.
  const base = `${server.url}/hls/${streamId}/${broadcastId}/`;
  for (const entry of playlist.entries) {
    const probe = await run('ffprobe', ['-v', 'error', '-of', 'json', '-show_entries', 'stream=codec_type,codec_name', `${base}${entry.uri}`]);
    assert.equal(probe.code, 0, `ffprobe ${entry.uri} failed: ${probe.stderr}`);
    assert.equal(probe.stderr, '', `ffprobe ${entry.uri} reported errors`);
    const streams = (JSON.parse(probe.stdout) as { streams: { codec_type: string; codec_name: string }[] }).streams;
    const codecs = streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
    assert.deepEqual(codecs, ['audio:aac', 'video:h264'], `${entry.uri}: streams`);
  }

  // The whole playlist: timestamps of each stream only move forward, and cover what was sent.
  const packets = await run('ffprobe', ['-v', 'error', '-of', 'json', '-show_entries', 'stream=index,codec_type:packet=stream_index,pts_time,dts_time', `${server.url}${path}`]);
  assert.equal(packets.code, 0, `ffprobe ${path}: ${packets.stderr}`);
  assert.equal(packets.stderr, '', `ffprobe ${path} reported errors`);
  const parsed = JSON.parse(packets.stdout) as {
    streams: { index: number; codec_type: string }[];
    packets: { stream_index: number; pts_time?: string; dts_time?: string }[];
  };
  for (const kind of ['video', 'audio']) {
    const index = parsed.streams.find((s) => s.codec_type === kind)?.index;
    assert.notEqual(index, undefined, `${path}: no ${kind} stream`);
    const mine = parsed.packets.filter((p) => p.stream_index === index);
    const dts = mine.map((p) => Number(p.dts_time ?? p.pts_time));
    assert.ok(dts.length > 0 && dts.every(Number.isFinite), `${path}: ${kind} packets without timestamps`);
    for (let i = 1; i < dts.length; i++) {
      assert.ok(dts[i]! > dts[i - 1]!, `${path}: ${kind} timestamp goes from ${dts[i - 1]} to ${dts[i]} at packet ${i}`);
    }
    const span = dts[dts.length - 1]! - dts[0]!;
    assert.ok(Math.abs(span - expect.seconds) <= tolerance + 0.1, `${path}: ${kind} spans ${span.toFixed(3)} s, expected about ${expect.seconds} s`);
    if (kind === 'video') {
      // 30 fps throughout: every frame that was sent is there.
      assert.ok(Math.abs(dts.length - expect.seconds * 30) <= 30 * tolerance, `${path}: ${dts.length} video frames for ${expect.seconds} s at 30 fps`);
    }
  }

  // A player reading the whole recording: not one warning.
  const read = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'warning', '-i', `${server.url}${path}`, '-c', 'copy', '-f', 'null', '-']);
  assert.equal(read.code, 0, `ffmpeg could not read ${path}: ${read.stderr}`);
  assert.equal(read.stderr, '', `ffmpeg -v warning reading ${path}`);
  return { playlist, total };
}

/** The latest recording of a stream (`/hls/<stream>/vod.m3u8`): the same segments as the broadcast's own playlist. */
export async function assertLatestRecording(server: TestServer, streamId: string, broadcastId: string, expected: Playlist): Promise<void> {
  const path = `/hls/${streamId}/vod.m3u8`;
  const reply = await getText(server, path);
  assert.equal(reply.status, 200, `${path}: ${reply.status} ${reply.text}`);
  const latest = parsePlaylist(reply.text);
  assert.ok(latest.tags.includes('#EXT-X-PLAYLIST-TYPE:VOD'), `${path}:\n${reply.text}`);
  assert.equal(latest.tags[latest.tags.length - 1], '#EXT-X-ENDLIST', `${path}:\n${reply.text}`);
  assert.deepEqual(
    latest.entries,
    expected.entries.map((e) => ({ ...e, uri: `${broadcastId}/${e.uri}` })),
    `${path} lists the latest broadcast's segments, relative to the stream`,
  );
  const read = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'warning', '-i', `${server.url}${path}`, '-c', 'copy', '-f', 'null', '-']);
  assert.equal(read.code, 0, `ffmpeg could not read ${path}: ${read.stderr}`);
  assert.equal(read.stderr, '', `ffmpeg -v warning reading ${path}`);
}

/** The broadcasts of a stream, oldest first, from the core. */
export function broadcastsOf(server: TestServer, streamId: string) {
  return server.running.core.broadcasts.list(streamId as StreamId);
}
