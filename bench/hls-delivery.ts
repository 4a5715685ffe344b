/**
 * HLS delivery bench: many viewers fetching live playlists and segments from streamdelta,
 * next to nginx serving the same files statically, in one run.
 *
 *   npm run bench:hls-delivery [-- --connections 200 --duration 15 --warmup 3 --streams 4]
 *
 * streamdelta: `streamdelta serve` as a child process; --streams live streams made through the
 * live (Mux) API, each with a public playback id, each published with
 * `ffmpeg -re -stream_loop -1 -c copy` of the media bench's cached 720p30 H.264 + AAC source.
 * Once every playlist lists segments, wrk (a child process, --threads threads) opens
 * --connections connections (one request at a time each) over the real URLs, each connection
 * alternating a live playlist and a segment: the playlists `/hls/<id>/index.m3u8` and
 * `/<playbackId>.m3u8` of every stream in turn, and the newest segments of each at both paths
 * (the bench re-reads the playlists every second so that the segments asked for stay at the
 * live edge, as players' do).
 *
 * nginx: Debian's nginx (http only, one worker, sendfile, no access log) serving a snapshot of
 * the same thing taken at the end of streamdelta's run: each playlist as streamdelta answered
 * it, written as a file at the same path, and the segments they list copied from streamdelta's
 * blob store (its data dir) to the same paths, loaded with the same mix of URLs.
 *
 * Each server is measured alone (streamdelta, its publishers, then nginx): after --warmup
 * seconds of load, --duration seconds are measured; the server's process tree CPU (from /proc
 * schedstat) is shown for information. streamdelta's CPU includes its ingest of the streams.
 *
 * Goal of the issue: streamdelta's requests/s >= 50 % of nginx's and its p99 <= 2 × nginx's.
 * Benches are never run by tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CACHE_DIR,
  CLOCK_TICKS,
  MiB,
  benchAccount,
  children,
  childEnv,
  cleanups,
  CpuMeter,
  ensureSource,
  firstLine,
  freePort,
  hostBusyTicks,
  installSignalHandlers,
  now,
  processTree,
  quote,
  readStat,
  renderTable,
  rssBytes,
  signals,
  sleep,
  spawnServer,
  startPublisher,
  startStreamdeltaServer,
  tempDir,
  unwindTo,
  waitForPorts,
  which,
  type Publisher,
  type ServerProcess,
} from './support.js';

/** This file runs as dist/bench/hls-delivery.js; the CLI is bin/streamdelta.js at the repository root. */
const CLI = fileURLToPath(new URL('../../bin/streamdelta.js', import.meta.url));
const SAMPLE_MS = 1000;
const RPS_SHARE_GOAL = 0.5;
const P99_RATIO_GOAL = 2;
/** Segments of each stream the viewers ask for: the newest few, as players at the live edge do. */
const NEWEST_SEGMENTS = 3;
const SERVER_KINDS = ['streamdelta', 'nginx'] as const;
type ServerKind = (typeof SERVER_KINDS)[number];

const USAGE = `Usage: npm run bench:hls-delivery [-- options]

  --connections N  BENCH_CONNECTIONS  concurrent viewers (HTTP connections, pipelining 1) (default 200)
  --duration SEC   BENCH_DURATION     measured seconds per server (default 10; --full: 30)
  --warmup SEC     BENCH_WARMUP       seconds of load before the measure (default 3; --full: 5)
  --streams N      BENCH_STREAMS      live streams, each with its publisher (default 4)
  --threads N      BENCH_THREADS      wrk's threads (default 1)
  --servers LIST   BENCH_SERVERS      which servers to run (default ${SERVER_KINDS.join(',')}; nginx needs streamdelta's files)
  --cpu-prof DIR   BENCH_CPU_PROF     run streamdelta with node --cpu-prof, profiles in DIR
  --full                              longer runs (the numbers to report)

Needs ffmpeg, wrk and Debian's nginx. The source is cached in ${CACHE_DIR}.
`;

class UsageError extends Error {}

interface Settings {
  connections: number;
  duration: number;
  warmup: number;
  streams: number;
  servers: ServerKind[];
  /** wrk's threads. */
  threads: number;
  cpuProfDir: string | undefined;
  full: boolean;
}

function readSettings(argv: string[]): Settings {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        connections: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        streams: { type: 'string' },
        threads: { type: 'string' },
        servers: { type: 'string' },
        'cpu-prof': { type: 'string' },
        full: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const env = process.env;
  const full = values.full === true;
  const whole = (flag: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text)})`);
    return n;
  };
  const servers = (values.servers ?? env.BENCH_SERVERS ?? SERVER_KINDS.join(',')).split(',').map((s) => s.trim());
  for (const s of servers) {
    if (!(SERVER_KINDS as readonly string[]).includes(s)) throw new UsageError(`--servers takes ${SERVER_KINDS.join(', ')} (got ${JSON.stringify(s)})`);
  }
  return {
    connections: whole('--connections', values.connections ?? env.BENCH_CONNECTIONS ?? '200', 1, 5000),
    duration: whole('--duration', values.duration ?? env.BENCH_DURATION ?? (full ? '30' : '10'), 2, 3600),
    warmup: whole('--warmup', values.warmup ?? env.BENCH_WARMUP ?? (full ? '5' : '3'), 1, 600),
    streams: whole('--streams', values.streams ?? env.BENCH_STREAMS ?? '4', 1, 40),
    servers: SERVER_KINDS.filter((k) => servers.includes(k)),
    threads: whole('--threads', values.threads ?? env.BENCH_THREADS ?? '1', 1, 64),
    cpuProfDir: values['cpu-prof'] ?? (env.BENCH_CPU_PROF || undefined),
    full,
  };
}

// ---------------------------------------------------------------------------------------
// Playlists.

/** What a viewer of one stream asks for: its live playlists, at each of their paths. */
interface StreamPaths {
  /** Paths of the stream's live playlists, e.g. /hls/<id>/index.m3u8 and /<playbackId>.m3u8. */
  playlists: string[];
}

/** The URI lines of a playlist, resolved against its path, without their query. */
function segmentPaths(playlistPath: string, text: string): string[] {
  const base = playlistPath.slice(0, playlistPath.lastIndexOf('/') + 1);
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((uri) => `${base}${uri.split('?')[0]}`);
}

// ---------------------------------------------------------------------------------------
// The load: wrk (one process, --threads threads) with a Lua script that sends, on each
// connection in turn, a playlist then a segment, taking both from a file of paths that this
// process rewrites while it follows a live server. autocannon, the API bench's load, reads a
// 650 kB body at a few tens of MB/s, so it measures itself rather than the servers here.

/** The paths a viewer asks for now, as the Lua script reads them: `P path` and `S path` lines. */
function writePaths(file: string, playlists: string[], segments: string[]): void {
  const text = [...playlists.map((p) => `P ${p}`), ...segments.map((p) => `S ${p}`)].join('\n');
  writeFileSync(`${file}.next`, `${text}\n`);
  // A rename, so that wrk never reads half a file.
  renameSync(`${file}.next`, file);
}

const WRK_SCRIPT = `-- Each connection alternates a live playlist and a segment, over the paths of a file that the
-- bench rewrites as the live playlists move on (read again every 200 requests of a thread).
local file, playlists, segments = nil, {}, {}
local p, s, sent = 0, 0, 0
-- Globals, so that done() can read each thread's counts.
playlistCount, segmentCount = 0, 0

local function load()
  local f = io.open(file, "r")
  if not f then return end
  local ps, ss = {}, {}
  for line in f:lines() do
    local kind, path = line:match("^(%a) (.+)$")
    if kind == "P" then ps[#ps + 1] = path elseif kind == "S" then ss[#ss + 1] = path end
  end
  f:close()
  if #ps > 0 and #ss > 0 then playlists, segments = ps, ss end
end

function init(args)
  file = args[1]
  load()
end

function request()
  sent = sent + 1
  if sent % 200 == 0 then load() end
  if sent % 2 == 1 then
    p = p % #playlists + 1
    playlistCount = playlistCount + 1
    return wrk.format("GET", playlists[p])
  end
  s = s % #segments + 1
  segmentCount = segmentCount + 1
  return wrk.format("GET", segments[s])
end

local threads = {}
function setup(thread) threads[#threads + 1] = thread end

function done(summary, latency, requests)
  local pc, sc = 0, 0
  for _, t in ipairs(threads) do
    pc = pc + (t:get("playlistCount") or 0)
    sc = sc + (t:get("segmentCount") or 0)
  end
  local e = summary.errors
  io.write(string.format("WRK-RESULT {\\"requests\\":%d,\\"bytes\\":%d,\\"micros\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"playlists\\":%d,\\"segments\\":%d}\\n",
    summary.requests, summary.bytes, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout, pc, sc))
end
`;

interface LoadResult {
  requestsPerSecond: number;
  bytesPerSecond: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  /** Connection, read and write errors. */
  errors: number;
  timeouts: number;
  /** Answers other than 2xx and 3xx. */
  non2xx: number;
  /** Requests sent of each kind (a few may still have been in flight at the end). */
  playlists: number;
  segments: number;
}

interface Load {
  child: ChildProcess;
  result: Promise<LoadResult>;
}

/** One run of wrk over `base` for `duration` seconds, taking its paths from `pathsFile`. */
function startLoad(wrk: string, script: string, pathsFile: string, base: string, settings: Settings, duration: number): Load {
  const child = spawn(
    wrk,
    ['--threads', String(settings.threads), '--connections', String(settings.connections), '--duration', `${duration}s`, '--timeout', '10s', '--script', script, base, '--', pathsFile],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  const mark = { what: `wrk (pid ${child.pid})`, run: async () => {} };
  mark.run = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    children.delete(child);
  };
  cleanups.push(mark);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const result = new Promise<LoadResult>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`wrk could not be started: ${err.message}`)));
    child.once('exit', (code, signal) => {
      children.delete(child);
      const line = /^WRK-RESULT (\{.*\})$/m.exec(output)?.[1];
      if (code !== 0 || !line) return reject(new Error(`wrk exited (${signal ?? `status ${code}`}) without its result; its output:\n${output.trim()}`));
      const r = JSON.parse(line) as Record<string, number>;
      const seconds = r.micros! / 1e6;
      resolve({
        requestsPerSecond: r.requests! / seconds,
        bytesPerSecond: r.bytes! / seconds,
        p50: r.p50! / 1000,
        p99: r.p99! / 1000,
        errors: r.connect! + r.read! + r.write!,
        timeouts: r.timeout!,
        non2xx: r.status!,
        playlists: r.playlists!,
        segments: r.segments!,
      });
    });
  });
  result.catch(() => {});
  return { child, result };
}

/**
 * Keeps the file of paths at the live edge: reads the live playlists every second and writes
 * the newest segments of each. Resolves with a stop function once the file is first written.
 */
async function followPlaylists(base: string, streams: StreamPaths[], pathsFile: string, follow: boolean): Promise<{ stop(): void; problems: string[] }> {
  const playlists = streams.flatMap((s) => s.playlists);
  const problems: string[] = [];
  const read = async () => {
    const segments: string[] = [];
    for (const path of playlists) {
      const response = await fetch(`${base}${path}`);
      const text = await response.text();
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${text.slice(0, 200)}`);
      const listed = segmentPaths(path, text);
      if (listed.length === 0) throw new Error(`${path} lists no segment`);
      segments.push(...listed.slice(-NEWEST_SEGMENTS));
    }
    writePaths(pathsFile, playlists, segments);
  };
  await read();
  // Every path answers before the load starts (a server that refuses them would measure refusals).
  for (const line of readFileSync(pathsFile, 'utf8').split('\n').filter(Boolean)) {
    const path = line.slice(2);
    const response = await fetch(`${base}${path}`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${base}${path} answered ${response.status}`);
  }
  if (!follow) return { stop: () => {}, problems };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const again = () => {
    timer = setTimeout(() => {
      read()
        .catch((err) => {
          if (problems.length < 5) problems.push(`re-reading the playlists: ${(err as Error).message}`);
        })
        .finally(() => {
          if (!stopped) again();
        });
    }, 1000);
  };
  again();
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  cleanups.push({ what: 'following the playlists', run: stop });
  return { stop, problems };
}

// ---------------------------------------------------------------------------------------
// Servers.

interface LiveStream {
  id: string;
  streamKey: string;
  playbackId: string;
}

interface Running {
  process: ServerProcess;
  base: string;
  streams: StreamPaths[];
  follow: boolean;
}

/** A live API access token for the bench account, made with the CLI on the server's database. */
function accessToken(dir: string): string {
  const out = spawnSync(process.execPath, [CLI, 'access-token', 'create', '--user', 'bench', '--json', '--data-dir', dir], { encoding: 'utf8', env: childEnv() });
  if (out.status !== 0) throw new Error(`streamdelta access-token create failed: ${(out.stderr || out.stdout).trim()}`);
  const token = JSON.parse(out.stdout) as { id: string; secret: string };
  return `Basic ${Buffer.from(`${token.id}:${token.secret}`).toString('base64')}`;
}

async function liveStream(http: string, basic: string): Promise<LiveStream> {
  const response = await fetch(`${http}/video/v1/live-streams`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/json' },
    body: JSON.stringify({ playback_policy: ['public'], new_asset_settings: { playback_policy: ['public'] } }),
  });
  const text = await response.text();
  if (response.status !== 201 && response.status !== 200) throw new Error(`streamdelta: POST /video/v1/live-streams answered ${response.status}: ${text}`);
  const data = (JSON.parse(text) as { data: { id: string; stream_key: string; playback_ids?: { id: string }[] } }).data;
  const playbackId = data.playback_ids?.[0]?.id;
  if (!playbackId) throw new Error(`streamdelta: the live stream has no playback id: ${text}`);
  return { id: data.id, streamKey: data.stream_key, playbackId };
}

async function waitForSegments(http: string, paths: string[]): Promise<void> {
  const deadline = now() + 30_000;
  for (;;) {
    let ready = 0;
    for (const path of paths) {
      const response = await fetch(`${http}${path}`);
      const text = await response.text();
      if (response.status === 200 && segmentPaths(path, text).length >= NEWEST_SEGMENTS) ready++;
    }
    if (ready === paths.length) return;
    if (now() > deadline) throw new Error(`the live playlists did not list ${NEWEST_SEGMENTS} segments within 30 s (${ready} of ${paths.length} did)`);
    await sleep(500);
  }
}

async function startStreamdelta(dir: string, settings: Settings, tools: { ffmpeg: string; source: string }): Promise<{ running: Running; publishers: Publisher[] }> {
  const server = await startStreamdeltaServer(dir, settings.cpuProfDir);
  await benchAccount(server.http);
  const basic = accessToken(dir);
  const streams: LiveStream[] = [];
  for (let i = 0; i < settings.streams; i++) streams.push(await liveStream(server.http, basic));
  const publishers = streams.map((s) => startPublisher(tools.ffmpeg, tools.source, `${server.rtmp}/${s.streamKey}`));
  const paths = streams.map((s) => ({ playlists: [`/hls/${s.id}/index.m3u8`, `/${s.playbackId}.m3u8`] }));
  await waitForSegments(
    server.http,
    paths.flatMap((p) => p.playlists),
  );
  return { running: { process: server.process, base: server.http, streams: paths, follow: true }, publishers };
}

/**
 * What a viewer of streamdelta got, as files: each playlist as it answers it now, at its path,
 * and every segment they list, copied from its blob store (`<data dir>/media/<key>`, the key
 * being the path under /hls/) to the path the playlist names it by.
 */
async function snapshot(streamdelta: Running, dataDir: string, root: string): Promise<number> {
  let bytes = 0;
  const blobRoot = join(dataDir, 'media');
  for (const stream of streamdelta.streams) {
    const hlsPlaylist = stream.playlists.find((p) => p.startsWith('/hls/'))!;
    const streamDir = hlsPlaylist.slice(0, hlsPlaylist.lastIndexOf('/'));
    for (const path of stream.playlists) {
      const response = await fetch(`${streamdelta.base}${path}`);
      const text = await response.text();
      if (response.status !== 200) throw new Error(`snapshot: ${path} answered ${response.status}`);
      const file = join(root, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      for (const segment of segmentPaths(path, text)) {
        // Both paths of a segment name the same blob: hls/<streamId>/<broadcastId>/seg-N.ts.
        const tail = segment.split('/').slice(-2).join('/');
        const blob = join(blobRoot, `${streamDir.slice(1)}/${tail}`);
        if (!existsSync(blob)) throw new Error(`snapshot: ${segment} is not in the blob store at ${blob}`);
        const target = join(root, segment);
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(blob, target);
        // The blob store keeps its files to itself (0600); nginx's worker is another user.
        chmodSync(target, 0o644);
        bytes += statSync(target).size;
      }
    }
  }
  return bytes;
}

function findHttpNginx(): { binary: string; version: string } | string {
  const binary = which('nginx', ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin']);
  if (!binary) return 'nginx is not installed; install it with: apt-get install -y nginx';
  return { binary, version: firstLine(binary, ['-v']).replace(/^nginx version:\s*/, '') };
}

async function startNginx(dir: string, root: string, nginx: { binary: string }, streams: StreamPaths[]): Promise<Running> {
  const port = await freePort();
  // A root master runs its worker as an unprivileged user, which reads the files.
  chmodSync(root, 0o755);
  const config = join(dir, 'nginx.conf');
  writeFileSync(
    config,
    `worker_processes 1;
pid ${quote(join(dir, 'nginx.pid'))};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${quote(join(dir, 'client_body'))};
  proxy_temp_path ${quote(join(dir, 'proxy'))};
  fastcgi_temp_path ${quote(join(dir, 'fastcgi'))};
  uwsgi_temp_path ${quote(join(dir, 'uwsgi'))};
  scgi_temp_path ${quote(join(dir, 'scgi'))};
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  server {
    listen 127.0.0.1:${port};
    root ${quote(root)};
    add_header Access-Control-Allow-Origin *;
    location ~ \\.m3u8$ { add_header Cache-Control no-cache; add_header Access-Control-Allow-Origin *; }
    location ~ \\.ts$ { add_header Cache-Control "public, max-age=31536000, immutable"; add_header Access-Control-Allow-Origin *; }
  }
}
`,
  );
  const server = spawnServer('nginx', nginx.binary, ['-g', 'daemon off;', '-c', config, '-p', `${dir}/`, '-e', 'stderr'], childEnv());
  await waitForPorts(server, 'nginx', [port]);
  return { process: server, base: `http://127.0.0.1:${port}`, streams, follow: false };
}

// ---------------------------------------------------------------------------------------
// One measured run.

interface Row {
  server: ServerKind;
  load: LoadResult;
  cpu: number;
  rssMax: number;
  loadCpu: number;
  hostBusy: number;
  problems: string[];
}

async function measure(kind: ServerKind, running: Running, settings: Settings, publishers: Publisher[], tools: { wrk: string; script: string; dir: string }): Promise<Row> {
  process.stderr.write(`bench: ${kind}, ${settings.connections} connections: ${settings.warmup} s warm-up, then ${settings.duration} s measured\n`);
  const pathsFile = join(tools.dir, 'paths.txt');
  const following = await followPlaylists(running.base, running.streams, pathsFile, running.follow);
  try {
    await startLoad(tools.wrk, tools.script, pathsFile, running.base, settings, settings.warmup).result;
    const load = startLoad(tools.wrk, tools.script, pathsFile, running.base, settings, settings.duration);
    const serverCpu = new CpuMeter();
    const loadCpu = new CpuMeter();
    let rssMax = 0;
    const hostBefore = hostBusyTicks();
    const startedAt = now();
    let finished = false;
    const result = load.result.finally(() => (finished = true));
    result.catch(() => {});
    const sample = () => {
      const tree = processTree(running.process.pid);
      serverCpu.sample(tree);
      const l = readStat(load.child.pid ?? -1);
      if (l) loadCpu.sample([l]);
      rssMax = Math.max(rssMax, tree.reduce((sum, p) => sum + rssBytes(p.pid), 0));
    };
    sample();
    // Sampled each second until wrk is done (its threads are read while it still runs).
    for (let i = 1; !finished && i < settings.duration; i++) {
      await Promise.race([sleep(Math.max(0, startedAt + i * SAMPLE_MS - now())), result.catch(() => {})]);
      if (!finished) sample();
    }
    const wall = (now() - startedAt) / 1000;
    const hostBusy = (100 * (hostBusyTicks() - hostBefore)) / CLOCK_TICKS / wall;
    const out = await result;
    const problems = [...following.problems];
    for (const p of publishers) if (p.exitedEarly) problems.push(`a publisher ${p.exitedEarly}`);
    if (running.process.child.exitCode !== null || running.process.child.signalCode !== null) problems.push(`the server exited; its output:\n${running.process.output().trim()}`);
    if (out.errors + out.timeouts + out.non2xx > 0) problems.push(`${out.errors} socket errors, ${out.timeouts} timeouts, ${out.non2xx} answers not 2xx or 3xx`);
    return { server: kind, load: out, cpu: (100 * serverCpu.seconds()) / wall, rssMax, loadCpu: (100 * loadCpu.seconds()) / wall, hostBusy, problems };
  } finally {
    following.stop();
  }
}

async function main(): Promise<number> {
  const settings = readSettings(process.argv.slice(2));
  installSignalHandlers();
  if (!settings.servers.includes('streamdelta')) throw new UsageError('--servers must include streamdelta: nginx serves a snapshot of its files');
  const ffmpeg = which('ffmpeg');
  if (!ffmpeg) throw new Error('ffmpeg is not on PATH: it makes the source and runs the publishers (apt-get install -y ffmpeg)');
  const wrk = which('wrk');
  if (!wrk) throw new Error('wrk is not on PATH: it is the viewers (apt-get install -y wrk)');
  const source = ensureSource(ffmpeg);
  const work = tempDir('load', 'hls-delivery');
  const script = join(work, 'viewers.lua');
  writeFileSync(script, WRK_SCRIPT);
  const skipped: string[] = [];
  let nginx: { binary: string; version: string } | undefined;
  if (settings.servers.includes('nginx')) {
    const found = findHttpNginx();
    if (typeof found === 'string') skipped.push(`nginx skipped: ${found}`);
    else nginx = found;
  }
  for (const s of skipped) process.stderr.write(`bench: ${s}\n`);

  const rows: Row[] = [];
  let snapshotBytes = 0;
  const root = tempDir('static', 'hls-delivery');
  let streams: StreamPaths[] = [];
  {
    const mark = cleanups.length;
    try {
      const dir = tempDir('streamdelta', 'hls-delivery');
      const { running, publishers } = await startStreamdelta(dir, settings, { ffmpeg, source });
      streams = running.streams;
      rows.push(await measure('streamdelta', running, settings, publishers, { wrk, script, dir: work }));
      if (nginx) snapshotBytes = await snapshot(running, dir, root);
    } finally {
      await unwindTo(mark);
    }
  }
  if (nginx) {
    const mark = cleanups.length;
    try {
      const dir = tempDir('nginx', 'hls-delivery');
      const running = await startNginx(dir, root, nginx, streams);
      rows.push(await measure('nginx', running, settings, [], { wrk, script, dir: work }));
    } finally {
      await unwindTo(mark);
    }
  }

  const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
  const peer = rows.find((r) => r.server === 'nginx');
  const sd = rows.find((r) => r.server === 'streamdelta')!;
  const clean = (r: Row) => r.problems.length === 0;
  const versions = [`node ${process.version}`, firstLine(ffmpeg, ['-version']).replace(/ Copyright.*/, ''), firstLine(wrk, ['--version']).replace(/ Copyright.*/, ''), ...(nginx ? [nginx.version] : [])];
  const playlistsPerStream = streams[0]?.playlists.length ?? 0;
  const out = [
    '',
    `streamdelta HLS delivery bench: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}; ${versions.join(', ')}`,
    `${settings.streams} live streams (ffmpeg -re -stream_loop -1 -c copy, 2.5 Mbit/s 720p30), ${settings.connections} viewers (wrk connections, ${settings.threads} thread${settings.threads === 1 ? '' : 's'}),`,
    `  each alternating a live playlist (${playlistsPerStream} paths per stream) and one of the ${NEWEST_SEGMENTS} newest segments of a stream; ${settings.warmup} s warm-up, then ${settings.duration} s measured per server`,
    `nginx: worker_processes 1, sendfile, the same playlists as files and the same segments (${fixed(snapshotBytes / MiB, 1)} MiB) copied from streamdelta's blob store`,
    '',
    renderTable(
      ['server', 'req/s', 'MB/s', 'p50 ms', 'p99 ms', 'errors', 'playlists/segments', 'server CPU %', 'RSS MiB', 'load CPU %', 'host busy %'],
      rows.map((r) => [
        r.server,
        fixed(r.load.requestsPerSecond, 0),
        fixed(r.load.bytesPerSecond / 1e6, 1),
        fixed(r.load.p50, 1),
        fixed(r.load.p99, 1),
        String(r.load.errors + r.load.timeouts + r.load.non2xx),
        `${r.load.playlists}/${r.load.segments}`,
        fixed(r.cpu, 0),
        fixed(r.rssMax / MiB, 0),
        fixed(r.loadCpu, 0),
        fixed(r.hostBusy, 0),
      ]),
    ),
    '',
    "server CPU %: every thread of the server's process tree over the window (schedstat), 100 % = one core; streamdelta's includes its",
    `  ingest and recording of the ${settings.streams} streams. errors: socket errors, timeouts and answers not 2xx/3xx. p50/p99: of every answer.`,
  ];
  if (peer) {
    const share = sd.load.requestsPerSecond / peer.load.requestsPerSecond;
    const ratio = sd.load.p99 / peer.load.p99;
    const valid = clean(sd) && clean(peer);
    const verdict = (ok: boolean) => (valid ? (ok ? 'PASS' : 'FAIL') : 'FAIL (errors in the run)');
    out.push(
      `goal: streamdelta req/s >= ${RPS_SHARE_GOAL * 100} % of nginx's: ${verdict(share >= RPS_SHARE_GOAL)} (${fixed(100 * share, 0)} %)`,
      `goal: streamdelta p99 <= ${P99_RATIO_GOAL} x nginx's: ${verdict(ratio <= P99_RATIO_GOAL)} (${fixed(ratio, 2)} x: ${fixed(sd.load.p99, 1)} ms vs ${fixed(peer.load.p99, 1)} ms)`,
    );
  } else {
    out.push('goal: not checked (no nginx row)');
  }
  for (const r of rows) {
    if (r.loadCpu > 85 * settings.threads) out.push(`NOTE: wrk used ${fixed(r.loadCpu, 0)} % of a core during ${r.server}: it is near its own limit, the server may sustain more.`);
  }
  out.push(...skipped);
  if (settings.cpuProfDir) out.push(`CPU profiles of the streamdelta server are in ${settings.cpuProfDir}; profiling slows it down.`);
  let ok = true;
  for (const r of rows) {
    for (const p of r.problems) {
      ok = false;
      out.push(`PROBLEM: ${r.server}: ${p}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return ok ? 0 : 1;
}

{
  let status = 1;
  try {
    status = await main();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
      status = 2;
    } else if (!signals.interrupted) {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
  } finally {
    await unwindTo(0);
  }
  process.exit(signals.interrupted ? 130 : status);
}
