/**
 * Media bench: streamdelta next to nginx-rtmp and node-media-server in one run, with N
 * concurrent RTMP publishers per server and HLS out of each.
 *
 *   npm run bench:media [-- --duration 20 --counts 1,10,20]
 *   npm run bench:media -- --full        (counts 1,10,20,40 and 60 s per row)
 *
 * Source: a 720p30 H.264 (2.5 Mbit/s, a keyframe every 2 s) + AAC FLV file of 36 s, made once
 * with ffmpeg from lavfi (testsrc2 + sine) and cached in the OS temp directory. Each publisher is
 * `ffmpeg -re -stream_loop -1 -i source.flv -c copy -f flv rtmp://…`. Every server makes 2 s
 * HLS segments (cut on keyframes) and a live playlist of 6 of them.
 *
 * For each N and each server: a fresh server (its own child process and temp dir), N streams,
 * N publishers started at once. Phase 1 (start-up): every stream's playlist is polled every
 * 50 ms until it lists a segment that can be fetched. Phase 2 (CPU and memory, --duration s,
 * starting once every stream is playable): each second the server's process tree is sampled
 * (CPU, RSS, PSS) while each playlist is read only every ~4 s (enough to miss no segment), so
 * the bench's own requests stay out of what is measured. Phase 3 (latency, 12 s): about every
 * second (jittered) each stream's playlist is fetched to place its live edge, and a few probe
 * streams (the first min(N, 4)) are polled every 20 ms around the time each segment is due, to
 * time it from the keyframe that closed it to its first listing in the live playlist. Probe
 * streams publish through a keyframe tap (bench/keyframe-tap.ts), a relay in this process that
 * notes when each keyframe leaves for the server: that is the moment a listing is timed from,
 * the same for every server, where ffmpeg's own pacing drifts as the machine gets busy. Every
 * server gets the same polling and the same taps. Then publishers and server stop.
 * What each column means is printed under the table, and each of the issue's targets is
 * judged PASS or FAIL per N under it.
 *
 * Peers:
 * - nginx-rtmp: Debian's `nginx` + `libnginx-mod-rtmp`, run in the foreground from a temp
 *   config (1 worker, `hls on`, 2 s fragments, 12 s playlist). Skipped, with the install
 *   command, when either is missing; the bench never installs system packages.
 * - node-media-server: installed at bench time with npm into a cache directory in the OS temp
 *   directory, never as a dependency of this project. Pinned to 2.7.4, the last 2.x release:
 *   the 4.x line (4.4.3 checked) has no HLS output at all. 2.7.4 makes HLS by starting one
 *   ffmpeg per published stream (its `trans` task: an RTMP player on itself, `-c copy` into the
 *   hls muxer), so those ffmpeg children are part of its process tree and of its cost. It logs
 *   "ReferenceError: version is not defined" at start (a bug in its trans server's start-up
 *   message, after its handlers are registered); HLS works regardless.
 * - node-media-server-4: the latest 4.x release, installed the same way into its own cache
 *   directory. It has no HLS output, so it is measured for ingest only (CPU and memory, as a
 *   memory peer): no playlist phase (a fixed few seconds of warm-up instead, then each probe
 *   stream is checked to play as HTTP-FLV), and no playlist columns.
 *
 * --cpu-prof DIR runs the streamdelta servers under node --cpu-prof and prints each row's
 * steady-state window on the profiles' clock, to cut the profiles to it.
 *
 * Benches are never run by CI or tests: the numbers depend on the machine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  SOURCE_SECONDS,
  CACHE_DIR,
  cleanups,
  serverGroups,
  aborted,
  unwindTo,
  killGroup,
  sleep,
  now,
  which,
  firstLine,
  NginxInstall,
  findNginx,
  quote,
  ensureSource,
  ServerProcess,
  childEnv,
  waitForPorts,
  freePort,
  api,
  CLOCK_TICKS,
  MiB,
  ProcStat,
  rssBytes,
  hostBusyTicks,
} from './support.js';
import { startKeyframeTap, type KeyframeTap } from './keyframe-tap.js';

// This file runs as dist/bench/media.js; the CLI is bin/streamdelta.js at the repository root.
const CLI = fileURLToPath(new URL('../../bin/streamdelta.js', import.meta.url));

/** node-media-server's last release with HLS output (4.x has none). */
const NMS_VERSION = '2.7.4';
/** The 4.x line, ingest only; npm picks its latest release when the cache has none. */
const NMS4_RANGE = '4';
/** Seconds node-media-server-4's publishers run before the measured window, in place of the playlist phase. */
const NMS4_WARMUP_SECONDS = 4;
const SEGMENT_SECONDS = 2;
const LIVE_WINDOW = 6;
const FIRST_PLAYLIST_POLL_MS = 50;
const FIRST_PLAYLIST_TIMEOUT_MS = 30_000;
const SAMPLE_MS = 1000;
/** Streams polled every PROBE_POLL_MS to time keyframe -> listed; the others are polled about once a second. */
const PROBE_STREAMS = 4;
/** How far (ms) a keyframe's RTMP timestamp may be from where the listed EXTINF put it: they are rounded, keyframes are 2 s apart. */
const KEYFRAME_MATCH_MS = 200;
const PROBE_POLL_MS = 20;
/** How long before a probe's next segment is due its 20 ms readings start. */
const PROBE_LEAD_MS = 200;
/** How often playlists are read while CPU and memory are measured: well inside the 12 s live window. */
const QUIET_POLL_MS = 4000;
/** Seconds of the latency phase after the CPU phase: edge age and keyframe → listed (about 6 segments per probe). */
const LATENCY_SECONDS = 12;
/**
 * A listing is timed only when the poll that saw it was sent at most this long after the one
 * before it was: a slower pair (the bench itself starved of CPU) cannot place the listing to
 * better than that.
 */
const PROBE_MAX_WINDOW_MS = 100;

const DEFAULT_COUNTS = '1,10,20';
const FULL_COUNTS = '1,10,20,40';
const DEFAULT_DURATION = 20;
const FULL_DURATION = 60;

// Targets of the issue.
const CPU_RATIO_GOAL = 1.5;
const CPU_GOAL_SIZES = [10, 20, 40];
const PSS_PER_STREAM_GOAL_MIB = 2;
const PSS_GOAL_SIZES = [20, 40];
/** Seconds streamdelta's keyframe -> listed may exceed nginx-rtmp's, and grow from the smallest N to the largest. */
const LISTING_SLACK_SECONDS = 0.05;

const SERVER_KINDS = ['streamdelta', 'nginx-rtmp', 'node-media-server', 'node-media-server-4'] as const;
type ServerKind = (typeof SERVER_KINDS)[number];

/** Servers without HLS output: measured for ingest only. */
const INGEST_ONLY: readonly ServerKind[] = ['node-media-server-4'];

const USAGE = `Usage: npm run bench:media [-- options]

Options (each also read from its environment variable):
  --duration SEC      BENCH_DURATION   measured steady-state seconds per server and N
                                       (default ${DEFAULT_DURATION}; ${FULL_DURATION} with --full)
  --counts LIST       BENCH_COUNTS     concurrent publishers, comma-separated
                                       (default ${DEFAULT_COUNTS}; ${FULL_COUNTS} with --full)
  --full              BENCH_FULL=1     the issue's full sizes: N up to 40, longer rows
  --servers LIST      BENCH_SERVERS    which servers to run (default ${SERVER_KINDS.join(',')})
  --cpu-prof DIR      BENCH_CPU_PROF   run the streamdelta servers with node --cpu-prof,
                                       writing .cpuprofile files to DIR (slows them down)

Needs ffmpeg on PATH. nginx-rtmp rows need Debian's nginx and libnginx-mod-rtmp; the
node-media-server rows (2.7.4 and the latest 4.x) need npm and network access once (the
installs are cached in ${CACHE_DIR}, as is the source file).
`;

interface Settings {
  duration: number;
  counts: number[];
  servers: ServerKind[];
  cpuProfDir: string | undefined;
}

class UsageError extends Error {}

function readSettings(): Settings {
  let values;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      options: {
        duration: { type: 'string' },
        counts: { type: 'string' },
        servers: { type: 'string' },
        'cpu-prof': { type: 'string' },
        full: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const env = process.env;
  const full = values.full ?? (env.BENCH_FULL === '1' || env.BENCH_FULL === 'true');
  const durationText = values.duration ?? env.BENCH_DURATION ?? String(full ? FULL_DURATION : DEFAULT_DURATION);
  const duration = Number(durationText);
  if (!Number.isInteger(duration) || duration < 3) throw new UsageError(`--duration must be a whole number of at least 3 (got ${JSON.stringify(durationText)})`);
  const countsText = values.counts ?? env.BENCH_COUNTS ?? (full ? FULL_COUNTS : DEFAULT_COUNTS);
  const counts = countsText.split(',').map((c) => Number(c.trim()));
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1 || n > 200)) {
    throw new UsageError(`--counts must be whole numbers from 1 to 200, comma-separated (got ${JSON.stringify(countsText)})`);
  }
  const serversText = values.servers ?? env.BENCH_SERVERS ?? SERVER_KINDS.join(',');
  const servers = serversText.split(',').map((s) => s.trim());
  for (const s of servers) {
    if (!(SERVER_KINDS as readonly string[]).includes(s)) throw new UsageError(`--servers takes ${SERVER_KINDS.join(', ')} (got ${JSON.stringify(s)})`);
  }
  return {
    duration,
    counts,
    servers: SERVER_KINDS.filter((k) => servers.includes(k)),
    cpuProfDir: values['cpu-prof'] ?? (env.BENCH_CPU_PROF || undefined),
  };
}

// ---------------------------------------------------------------------------------------
// Clean-up: every child process and temp dir is registered as soon as it exists and released
// in reverse order: at the end of each measured run, on error and on Ctrl-C.

const publishers = new Set<ChildProcess>();
// Every pending sleep listens to it: one per watched stream.
setMaxListeners(0, aborted.signal);


// Last resort if the process exits before the clean-ups ran: nothing outlives the bench.
process.on('exit', () => {
  for (const child of publishers) child.kill('SIGKILL');
  for (const group of serverGroups) killGroup(group, 'SIGKILL');
});

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
    aborted.abort();
    unwindTo(0).finally(() => process.exit(130));
  });
}


function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `streamdelta-bench-media-${label}-`));
  cleanups.push({ what: `temp dir ${dir}`, run: () => rmSync(dir, { recursive: true, force: true }) });
  return dir;
}



// ---------------------------------------------------------------------------------------
// Programs this bench needs.






interface NmsInstall {
  /** The module directory, to require. */
  dir: string;
  version: string;
}

/**
 * Installs a node-media-server release into its own directory of the cache (once; never into
 * the project): `spec` is what npm installs, `accept` tells whether a cached install will do.
 * The install, or why there is none.
 */
function ensureNodeMediaServer(cacheName: string, spec: string, accept: (version: string) => boolean): NmsInstall | string {
  const prefix = join(CACHE_DIR, cacheName);
  const dir = join(prefix, 'node_modules', 'node-media-server');
  const installed = (): NmsInstall | undefined => {
    try {
      const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
      return typeof version === 'string' && accept(version) ? { dir, version } : undefined;
    } catch {
      return undefined;
    }
  };
  const cached = installed();
  if (cached) return cached;
  const npm = which('npm');
  if (!npm) return 'npm is not on PATH';
  mkdirSync(prefix, { recursive: true });
  process.stderr.write(`bench: installing node-media-server@${spec} into ${prefix} (outside the project)\n`);
  const out = spawnSync(npm, ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', `node-media-server@${spec}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = installed();
  if (out.status !== 0 || !done) return `npm install node-media-server@${spec} failed: ${`${out.stderr ?? ''}`.trim().split('\n').slice(-3).join(' ')}`;
  return done;
}


// ---------------------------------------------------------------------------------------
// Servers: each one a child process leading its own process group, so its children (nginx's
// worker, node-media-server's ffmpegs) are measured with it and stopped with it.



function spawnServer(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ServerProcess {
  if (interrupted) throw new Error('interrupted');
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid === undefined) throw new Error(`${name} could not be started`);
  const pid = child.pid;
  serverGroups.add(pid);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => keep(Buffer.from(`\n${err.message}\n`)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    // Whatever the server left behind in its group (node-media-server's ffmpegs).
    killGroup(pid, 'SIGKILL');
    serverGroups.delete(pid);
  };
  cleanups.push({ what: `${name} (pid ${pid})`, run: stop });
  return { pid, child, output: () => output, stop };
}




/**
 * One stream of a running server: where to publish, and where to watch it: its live playlist,
 * or for an ingest-only server (no HLS) its HTTP-FLV URL.
 */
type StreamTarget = { publishUrl: string } & ({ playlistUrl: string; flvUrl?: undefined } | { flvUrl: string; playlistUrl?: undefined });

interface RunningServer {
  process: ServerProcess;
  /** Makes `count` streams ready to publish (for streamdelta: an account and its streams). */
  streams(count: number): Promise<StreamTarget[]>;
}

async function startStreamdelta(dir: string, settings: Settings): Promise<RunningServer> {
  const nodeArgs = settings.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', settings.cpuProfDir] : [];
  const server = spawnServer(
    'streamdelta',
    process.execPath,
    [
      ...nodeArgs,
      CLI,
      'serve',
      '--http-host', '127.0.0.1',
      '--http-port', '0',
      '--rtmp-port', '0',
      '--data-dir', dir,
      '--log-level', 'warn',
      '--hls-segment-duration', String(SEGMENT_SECONDS),
      '--hls-live-window', String(LIVE_WINDOW),
    ],
    childEnv(),
  );
  const ready = /streamdelta listening on (http:\/\/\S+) \(HTTP\) and (rtmp:\/\/\S+) \(RTMP\)/;
  const deadline = now() + 60_000;
  let match: RegExpExecArray | null = null;
  while (!(match = ready.exec(server.output()))) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`streamdelta exited; its output:\n${server.output().trim()}`);
    if (now() > deadline) throw new Error(`streamdelta did not start within 60 s; its output:\n${server.output().trim()}`);
    await sleep(50);
  }
  const http = match[1]!;
  const rtmp = match[2]!;
  return {
    process: server,
    async streams(count) {
      const username = 'bench';
      const password = 'bench-password-0123';
      await api(http, 'POST', '/accounts/', { body: { username, password, email: 'bench@example.com' } });
      const token = (await api(http, 'POST', '/accounts/auth/local', { body: { username, password } })).payload.token as string;
      const targets: StreamTarget[] = [];
      for (let i = 0; i < count; i++) {
        const { id, streamKey } = (await api(http, 'POST', '/streams/', { token })).payload as { id: string; streamKey: string };
        targets.push({ publishUrl: `${rtmp}/${streamKey}`, playlistUrl: `${http}/hls/${id}/index.m3u8` });
      }
      return targets;
    },
  };
}


async function startNginx(dir: string, nginx: NginxInstall): Promise<RunningServer> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const hls = join(dir, 'hls');
  mkdirSync(hls);
  // A root master runs its worker as an unprivileged user, which writes the fragments.
  chmodSync(dir, 0o755);
  chmodSync(hls, 0o777);
  const config = join(dir, 'nginx.conf');
  const text = `${nginx.loadModule}
worker_processes 1;
pid ${quote(join(dir, 'nginx.pid'))};
error_log stderr warn;
events { worker_connections 1024; }
rtmp {
  server {
    listen 127.0.0.1:${rtmpPort};
    application live {
      live on;
      record off;
      hls on;
      hls_path ${quote(hls)};
      hls_fragment ${SEGMENT_SECONDS}s;
      hls_playlist_length ${SEGMENT_SECONDS * LIVE_WINDOW}s;
    }
  }
}
http {
  access_log off;
  client_body_temp_path ${quote(join(dir, 'client_body'))};
  proxy_temp_path ${quote(join(dir, 'proxy'))};
  fastcgi_temp_path ${quote(join(dir, 'fastcgi'))};
  uwsgi_temp_path ${quote(join(dir, 'uwsgi'))};
  scgi_temp_path ${quote(join(dir, 'scgi'))};
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  server {
    listen 127.0.0.1:${httpPort};
    location / {
      root ${quote(hls)};
      add_header Cache-Control no-cache;
    }
  }
}
`;
  writeFileSync(config, text);
  const server = spawnServer('nginx-rtmp', nginx.binary, ['-g', 'daemon off;', '-c', config, '-p', `${dir}/`], childEnv());
  await waitForPorts(server, 'nginx-rtmp', [rtmpPort, httpPort]);
  return {
    process: server,
    async streams(count) {
      return Array.from({ length: count }, (_, i) => ({
        publishUrl: `rtmp://127.0.0.1:${rtmpPort}/live/bench${i}`,
        playlistUrl: `http://127.0.0.1:${httpPort}/bench${i}.m3u8`,
      }));
    },
  };
}

async function startNodeMediaServer(dir: string, module: string, ffmpeg: string): Promise<RunningServer> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const media = join(dir, 'media');
  const config = {
    logType: 1, // errors only
    rtmp: { port: rtmpPort, chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 },
    http: { port: httpPort, mediaroot: media, allow_origin: '*', api: false },
    // One ffmpeg per published stream, remuxing (-c copy) into HLS: the 2.x way to HLS.
    trans: { ffmpeg, tasks: [{ app: 'live', hls: true, hlsFlags: `[hls_time=${SEGMENT_SECONDS}:hls_list_size=${LIVE_WINDOW}]` }] },
  };
  const launcher = 'const NodeMediaServer = require(process.env.BENCH_NMS_MODULE); new NodeMediaServer(JSON.parse(process.env.BENCH_NMS_CONFIG)).run();';
  const server = spawnServer('node-media-server', process.execPath, ['-e', launcher], childEnv({ BENCH_NMS_MODULE: module, BENCH_NMS_CONFIG: JSON.stringify(config) }));
  await waitForPorts(server, 'node-media-server', [rtmpPort, httpPort]);
  return {
    process: server,
    async streams(count) {
      return Array.from({ length: count }, (_, i) => ({
        publishUrl: `rtmp://127.0.0.1:${rtmpPort}/live/bench${i}`,
        playlistUrl: `http://127.0.0.1:${httpPort}/live/bench${i}/index.m3u8`,
      }));
    },
  };
}

/**
 * node-media-server 4.x: RTMP ingest and HTTP-FLV playback, nothing written (no HLS in 4.x,
 * recording off, no web console, no API). Its stream targets have no playlist.
 */
async function startNodeMediaServer4(dir: string, module: string): Promise<RunningServer> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const config = {
    bind: '127.0.0.1',
    rtmp: { port: rtmpPort },
    http: { port: httpPort },
    webadmin: { enable: false },
    store: { path: join(dir, 'data') },
    record: { auto: false, path: join(dir, 'record') },
  };
  // Its constructor sets its logger to debug; warnings and errors only, as for the other servers.
  const launcher =
    'const NodeMediaServer = require(process.env.BENCH_NMS_MODULE);' +
    "const logger = require(require('node:path').join(process.env.BENCH_NMS_MODULE, 'src/core/logger.js'));" +
    'const server = new NodeMediaServer(JSON.parse(process.env.BENCH_NMS_CONFIG));' +
    "logger.level = 'warn';" +
    'server.run();';
  const server = spawnServer('node-media-server-4', process.execPath, ['-e', launcher], childEnv({ BENCH_NMS_MODULE: module, BENCH_NMS_CONFIG: JSON.stringify(config) }));
  await waitForPorts(server, 'node-media-server-4', [rtmpPort, httpPort]);
  return {
    process: server,
    async streams(count) {
      return Array.from({ length: count }, (_, i) => ({
        publishUrl: `rtmp://127.0.0.1:${rtmpPort}/live/bench${i}`,
        flvUrl: `http://127.0.0.1:${httpPort}/live/bench${i}.flv`,
      }));
    },
  };
}

/**
 * Whether a live HTTP-FLV stream plays: the FLV header and at least one video tag arrive
 * within 5 s. Why not, or undefined when it plays.
 */
async function flvPlays(url: string): Promise<string | undefined> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    const response = await fetch(url, { signal: controller.signal });
    if (response.status !== 200 || !response.body) return `answered ${response.status}`;
    let data = Buffer.alloc(0);
    for await (const chunk of response.body) {
      data = Buffer.concat([data, chunk as Uint8Array]);
      if (data.length < 13) continue;
      if (data.toString('latin1', 0, 3) !== 'FLV') return 'the answer is not FLV';
      // Tags follow the 9-byte header and a 4-byte previous-tag size: type, 24-bit size, ...
      for (let at = 13; at + 11 <= data.length; at += 11 + data.readUIntBE(at + 1, 3) + 4) {
        if (data[at] === 9) return undefined;
      }
    }
    return 'the stream ended without a video tag';
  } catch {
    return 'no video within 5 s';
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

// ---------------------------------------------------------------------------------------
// Publishers.

interface Publisher {
  child: ChildProcess;
  startedAt: number;
  /**
   * When the publisher's media time 0 went out, on this process's clock: the smallest
   * (arrival of an ffmpeg -progress report − its out_time). With -re, out_time follows the
   * wall clock, so this is the pacing origin of the stream. Spawn time until a report came.
   */
  origin: number;
  exitedEarly: string | undefined;
  stop(): Promise<void>;
}

function startPublisher(ffmpeg: string, source: string, url: string): Publisher {
  const child = spawn(
    ffmpeg,
    ['-hide_banner', '-nostdin', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', '-re', '-stream_loop', '-1', '-i', source, '-c', 'copy', '-f', 'flv', url],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  publishers.add(child);
  const startedAt = now();
  let stopping = false;
  let stderr = '';
  let pending = '';
  const publisher: Publisher = {
    child,
    startedAt,
    origin: startedAt,
    exitedEarly: undefined,
    stop: async () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      publishers.delete(child);
    },
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    const at = now();
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^out_time_us=(\d+)/.exec(line);
      if (m) publisher.origin = Math.min(publisher.origin, at - Number(m[1]) / 1000);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-1000);
  });
  child.once('exit', (code, signal) => {
    if (!stopping) publisher.exitedEarly = `exited (${signal ?? `status ${code}`}): ${stderr.trim() || 'no output'}`;
  });
  cleanups.push({ what: `publisher (pid ${child.pid})`, run: publisher.stop });
  return publisher;
}

// ---------------------------------------------------------------------------------------
// Playlists.

interface Entry {
  sequence: number;
  duration: number;
  uri: string;
}

function parsePlaylist(text: string): Entry[] {
  let sequence = 0;
  let duration: number | undefined;
  const entries: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) sequence = Number(line.slice('#EXT-X-MEDIA-SEQUENCE:'.length));
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice('#EXTINF:'.length));
    else if (line !== '' && !line.startsWith('#') && duration !== undefined) {
      entries.push({ sequence: sequence + entries.length, duration, uri: line });
      duration = undefined;
    }
  }
  return entries;
}

async function get(url: string): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

/**
 * One stream as the bench watches it: when its first playable playlist came, and the
 * duration of every segment it has listed so far (by media sequence), to place the live edge
 * and each segment's end on the publisher's timeline. A probe stream is polled every 20 ms around
 * each segment's due time in steady state, to time its first listing; the others about once a second.
 */
class StreamWatch {
  /** Probe streams: the relay their publisher sends through, which notes when each keyframe left for the server. */
  tap: KeyframeTap | undefined;
  firstPlayableSeconds: number | undefined;
  private firstSequence: number | undefined;
  /** The newest media sequence any reading has listed. */
  private newestSequence: number | undefined;
  private readonly durations = new Map<number, number>();
  readonly edgeSamples: number[] = [];
  /** Probe streams: each segment first listed while measuring, and when (this process's clock, ms). */
  private readonly listings: { sequence: number; seenAt: number }[] = [];
  /** Probe streams: listings not timed, since the polls around them were too far apart (or a segment went unseen). */
  untimedListings = 0;
  gaps = 0;
  measuring = false;
  /**
   * While the servers' CPU and memory are measured, playlists are read only every few seconds
   * (enough not to miss a segment), so that what is measured is the media work and not the bench's
   * own requests, which cost some servers far more than others (the HLS delivery bench measures
   * those).
   */
  quiet = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** When the previous poll that got a playlist was sent: a segment new in a poll was listed after it. */
  private previousPollSentAt: number | undefined;
  /** Probe streams sample the edge on the other streams' jittered ~1 s schedule, not every poll. */
  private nextEdgeSampleAt = 0;

  constructor(
    readonly playlistUrl: string,
    readonly publisher: Publisher,
    readonly probe: boolean,
  ) {}

  /** Resolves once the stream is playable or the first-playlist timeout passed; keeps watching after. */
  start(): Promise<void> {
    return new Promise((resolvePlayable) => {
      this.loop = this.run(resolvePlayable).catch(() => resolvePlayable());
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(playable: () => void): Promise<void> {
    const deadline = this.publisher.startedAt + FIRST_PLAYLIST_TIMEOUT_MS;
    // Phase 1: every 50 ms until the playlist lists a segment that can be fetched.
    while (!this.stopped) {
      const sentAt = now();
      const entries = await this.fetchPlaylist();
      if (entries && entries.length > 0) {
        const newest = entries[entries.length - 1]!;
        const segment = await get(new URL(newest.uri, this.playlistUrl).href).catch(() => undefined);
        if (segment && segment.status === 200 && segment.body.length >= 188 && segment.body[0] === 0x47) {
          this.firstPlayableSeconds = (now() - this.publisher.startedAt) / 1000;
          this.observe(entries, sentAt, now());
          break;
        }
      }
      if (now() > deadline) {
        playable();
        return;
      }
      await sleep(FIRST_PLAYLIST_POLL_MS);
    }
    playable();
    // Phase 2: to follow the sequence and, while measuring, sample the edge and (probes) time
    // each listing. Other streams' interval is jittered (0.5–1.5 s) so readings do not lock
    // onto one phase of the 2 s segment cadence.
    while (!this.stopped) {
      await sleep(this.quiet ? QUIET_POLL_MS * (0.75 + Math.random() / 2) : this.probe ? this.probeWait() : SAMPLE_MS * (0.5 + Math.random()));
      const sentAt = now();
      const entries = await this.fetchPlaylist();
      if (entries) this.observe(entries, sentAt, now());
    }
  }

  /**
   * A probe reads its playlist every PROBE_POLL_MS only around the moment its next segment is
   * due (from PROBE_LEAD_MS before the keyframe that will close it, on the publisher's
   * timeline), and sleeps in between: the timing stays that fine while the probes add only a few
   * requests per segment to the load, so the servers' CPU is measured under nearly the same
   * light polling on every server.
   */
  private probeWait(): number {
    if (!this.measuring || this.newestSequence === undefined) return PROBE_POLL_MS;
    const end = this.mediaEnd(this.newestSequence);
    const last = this.durations.get(this.newestSequence);
    if (end === undefined || last === undefined) return PROBE_POLL_MS;
    const due = this.publisher.origin + (end + last) * 1000 - PROBE_LEAD_MS;
    return Math.max(PROBE_POLL_MS, Math.min(SAMPLE_MS * 2, due - now()));
  }

  private async fetchPlaylist(): Promise<Entry[] | undefined> {
    const reply = await get(this.playlistUrl).catch(() => undefined);
    if (!reply || reply.status !== 200) return undefined;
    return parsePlaylist(reply.body.toString('utf8'));
  }

  /**
   * Media seconds from the first segment's start (the source's first keyframe, media time 0)
   * to the end of segment `sequence`, i.e. to the keyframe that closed it: the sum of EXTINF of
   * every segment listed since the first. Undefined when one was never seen (it left the
   * playlist between two readings).
   */
  private mediaEnd(sequence: number): number | undefined {
    if (this.firstSequence === undefined) return undefined;
    let end = 0;
    for (let s = this.firstSequence; s <= sequence; s++) {
      const d = this.durations.get(s);
      if (d === undefined) return undefined;
      end += d;
    }
    return end;
  }

  /**
   * A playlist read, sent at `sentAt` and answered at `at`.
   *
   * Edge age, sampled about once a second in steady state: how many seconds of media the
   * publisher has sent that are not yet listed in the live playlist, i.e.
   *
   *   (now − publisher origin) − (media end of the newest listed segment)
   *
   * It includes the server's wait for the keyframe that closes a segment, its packaging and
   * storing, so it saw-tooths between that delay and that delay plus one segment (2 s); a
   * player starting at the live edge can be no closer than this.
   *
   * Probe streams also note when each segment is first listed; listingDelays() turns that
   * into seconds after the keyframe that closed the segment.
   */
  private observe(entries: Entry[], sentAt: number, at: number): void {
    if (entries.length === 0) return;
    this.firstSequence ??= entries[0]!.sequence;
    this.newestSequence = Math.max(this.newestSequence ?? -1, entries[entries.length - 1]!.sequence);
    for (const e of entries) {
      if (this.durations.has(e.sequence)) continue;
      this.durations.set(e.sequence, e.duration);
      if (!this.measuring || !this.probe) continue;
      // Listed after the previous poll was sent and before this one was answered.
      if (this.previousPollSentAt !== undefined && at - this.previousPollSentAt <= PROBE_MAX_WINDOW_MS) {
        this.listings.push({ sequence: e.sequence, seenAt: at });
      } else {
        this.untimedListings++;
      }
    }
    this.previousPollSentAt = sentAt;
    if (!this.measuring || (this.probe && at < this.nextEdgeSampleAt)) return;
    this.nextEdgeSampleAt = at + SAMPLE_MS * (0.5 + Math.random());
    const end = this.mediaEnd(entries[entries.length - 1]!.sequence);
    if (end === undefined) {
      this.gaps++;
      return;
    }
    this.edgeSamples.push((at - this.publisher.origin) / 1000 - end);
  }

  /**
   * Probe streams: for each segment first listed while measuring, seconds from the keyframe
   * that closed it leaving the publisher (publisher origin + its media end) to the poll that
   * first saw it listed. Read after the run, with the publisher's settled origin.
   */
  listingDelays(): number[] {
    const delays: number[] = [];
    for (const l of this.listings) {
      const end = this.mediaEnd(l.sequence);
      // The keyframe that closed the segment: the first one's RTMP timestamp plus the media
      // seconds listed through it (EXTINF is rounded; keyframes are seconds apart).
      const first = this.tap?.firstKeyframe;
      const sentAt = end === undefined || first === undefined ? undefined : this.tap!.sentNear(first + end * 1000, KEYFRAME_MATCH_MS);
      if (sentAt === undefined) this.untimedListings++;
      else delays.push((l.seenAt - sentAt) / 1000);
    }
    return delays;
  }
}

// ---------------------------------------------------------------------------------------
// Process measurements, from /proc.



function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name (in parentheses, may contain spaces): state is field 3, ppid 4,
    // utime 14, stime 15, starttime 22.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), start: f[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** A process and all its descendants, now. */
function processTree(root: number): ProcStat[] {
  const all: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) all.push(stat);
  }
  const inTree = new Set([root]);
  const tree: ProcStat[] = [];
  // Parents may have higher pids than children after wrap-around: repeat until nothing is added.
  for (let added = true; added; ) {
    added = false;
    for (const p of all) {
      if (!inTree.has(p.pid) && inTree.has(p.ppid)) {
        inTree.add(p.pid);
        added = true;
      }
    }
  }
  for (const p of all) if (inTree.has(p.pid)) tree.push(p);
  return tree;
}


/** Proportional set size: shared pages (libraries of many ffmpegs) divided among their users. */
function pssBytes(pid: number): number | undefined {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time of a changing set of processes over a window: for each process (pid + start time),
 * its last reading minus its first, where a process first seen after the window's first
 * sample was born inside the window and counts from 0.
 */
class CpuMeter {
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private samples = 0;

  sample(procs: ProcStat[]): void {
    for (const p of procs) {
      const key = `${p.pid}:${p.start}`;
      if (!this.first.has(key)) this.first.set(key, this.samples === 0 ? p.ticks : 0);
      this.last.set(key, p.ticks);
    }
    this.samples++;
  }

  seconds(): number {
    let ticks = 0;
    for (const [key, last] of this.last) ticks += last - this.first.get(key)!;
    return ticks / CLOCK_TICKS;
  }
}


// ---------------------------------------------------------------------------------------
// One measured run: one server, N publishers.

interface Row {
  server: ServerKind;
  n: number;
  cpu: number;
  rssMax: number;
  pssMax: number | undefined;
  idleRss: number;
  /** PSS of the tree before publishing (streams created, nothing published yet). */
  idlePss: number | undefined;
  processes: number;
  /** No HLS output: no playlist columns. */
  ingestOnly: boolean;
  firstPlaylist: number | undefined;
  firstPlaylistMissing: number;
  edgeAge: number | undefined;
  edgeGaps: number;
  /** Keyframe -> segment listed, seconds, over the probe streams' listings in the measured window. */
  listingMedian: number | undefined;
  listingP90: number | undefined;
  listings: number;
  untimedListings: number;
  probes: number;
  publishersCpu: number;
  hostBusy: number;
  /** The measured seconds on the monotonic clock of V8's CPU profiles (µs), to cut them to steady state. */
  windowMicros: [number, number];
  problems: string[];
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0–100), nearest rank. */
function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The tree's PSS, or undefined when a process's could not be read. */
function treePss(tree: ProcStat[]): number | undefined {
  let pss = 0;
  for (const p of tree) {
    const v = pssBytes(p.pid);
    if (v === undefined) return undefined;
    pss += v;
  }
  return pss;
}

interface Tools {
  ffmpeg: string;
  source: string;
  nginx: NginxInstall | undefined;
  nms: NmsInstall | undefined;
  nms4: NmsInstall | undefined;
}

async function measure(kind: ServerKind, n: number, settings: Settings, tools: Tools): Promise<Row> {
  process.stderr.write(`bench: ${kind}, ${n} publisher${n === 1 ? '' : 's'}: start-up, then ${settings.duration} s of CPU and memory, then ${LATENCY_SECONDS} s of latency\n`);
  const mark = cleanups.length;
  try {
    const dir = tempDir(kind);
    const server =
      kind === 'streamdelta'
        ? await startStreamdelta(dir, settings)
        : kind === 'nginx-rtmp'
          ? await startNginx(dir, tools.nginx!)
          : kind === 'node-media-server'
            ? await startNodeMediaServer(dir, tools.nms!.dir, tools.ffmpeg)
            : await startNodeMediaServer4(dir, tools.nms4!.dir);
    const targets = await server.streams(n);
    await sleep(1000);
    const idleTree = processTree(server.process.pid);
    const idleRss = idleTree.reduce((sum, p) => sum + rssBytes(p.pid), 0);
    const idlePss = treePss(idleTree);

    const problems: string[] = [];
    const probes = Math.min(n, PROBE_STREAMS);
    // Probe streams publish through a keyframe tap, on every server alike.
    const taps = await Promise.all(targets.map((t, i) => (i < probes && t.playlistUrl !== undefined ? startKeyframeTap(t.publishUrl) : undefined)));
    cleanups.push({ what: 'keyframe taps', run: async () => void (await Promise.all(taps.map((tap) => tap?.close()))) });
    const publishersOfRow = targets.map((t, i) => startPublisher(tools.ffmpeg, tools.source, taps[i]?.url ?? t.publishUrl));
    const watches: StreamWatch[] = [];
    targets.forEach((t, i) => {
      if (t.playlistUrl === undefined) return;
      const watch = new StreamWatch(t.playlistUrl, publishersOfRow[i]!, i < probes);
      watch.tap = taps[i];
      watches.push(watch);
    });
    cleanups.push({ what: 'playlist watchers', run: async () => void (await Promise.all(watches.map((w) => w.stop()))) });
    if (INGEST_ONLY.includes(kind)) {
      // No playlist to wait for: a fixed warm-up, then the probe streams must play back.
      await sleep(NMS4_WARMUP_SECONDS * 1000);
      const checks = await Promise.all(targets.slice(0, probes).map((t) => flvPlays(t.flvUrl!)));
      checks.forEach((why, i) => {
        if (why !== undefined) problems.push(`stream ${i} does not play as HTTP-FLV after ${NMS4_WARMUP_SECONDS} s: ${why}`);
      });
    } else {
      await Promise.all(watches.map((w) => w.start()));
    }

    // Steady state, first CPU and memory under the quiet playlist reading.
    for (const w of watches) w.quiet = true;
    await sleep(QUIET_POLL_MS / 2);
    const serverCpu = new CpuMeter();
    const publisherCpu = new CpuMeter();
    let rssMax = 0;
    let pssMax: number | undefined = 0;
    let processes = 0;
    const hostBefore = hostBusyTicks();
    const windowStart = Number(process.hrtime.bigint() / 1000n);
    const startedAt = now();
    for (let i = 0; i <= settings.duration; i++) {
      if (i > 0) await sleep(Math.max(0, startedAt + i * SAMPLE_MS - now()));
      const tree = processTree(server.process.pid);
      serverCpu.sample(tree);
      publisherCpu.sample(publishersOfRow.map((p) => readStat(p.child.pid ?? -1)).filter((s): s is ProcStat => s !== undefined));
      rssMax = Math.max(rssMax, tree.reduce((sum, p) => sum + rssBytes(p.pid), 0));
      const pss = treePss(tree);
      pssMax = pss === undefined || pssMax === undefined ? undefined : Math.max(pssMax, pss);
      processes = Math.max(processes, tree.length);
    }
    const wall = (now() - startedAt) / 1000;
    const windowEnd = Number(process.hrtime.bigint() / 1000n);
    const hostBusy = (100 * (hostBusyTicks() - hostBefore)) / CLOCK_TICKS / wall;
    // Then the live edge and the keyframe → listed times, with the probes.
    if (!INGEST_ONLY.includes(kind)) {
      for (const w of watches) {
        w.quiet = false;
        w.measuring = true;
      }
      await sleep(LATENCY_SECONDS * 1000);
      for (const w of watches) w.measuring = false;
    }

    publishersOfRow.forEach((p, i) => {
      if (p.exitedEarly) problems.push(`publisher ${i} ${p.exitedEarly}`);
    });
    if (server.process.child.exitCode !== null || server.process.child.signalCode !== null) {
      problems.push(`the server exited during the run; its output:\n${server.process.output().trim()}`);
    }
    const ingestOnly = INGEST_ONLY.includes(kind);
    const firstTimes = watches.map((w) => w.firstPlayableSeconds).filter((s): s is number => s !== undefined);
    if (!ingestOnly && firstTimes.length < n) problems.push(`${n - firstTimes.length} of ${n} streams had no playable playlist within ${FIRST_PLAYLIST_TIMEOUT_MS / 1000} s`);
    const probeWatches = watches.filter((w) => w.probe);
    const delays = probeWatches.flatMap((w) => w.listingDelays());
    const gaps = watches.reduce((sum, w) => sum + w.gaps, 0);
    return {
      server: kind,
      n,
      cpu: (100 * serverCpu.seconds()) / wall,
      rssMax,
      pssMax,
      idleRss,
      idlePss,
      processes,
      ingestOnly,
      firstPlaylist: median(firstTimes),
      firstPlaylistMissing: ingestOnly ? 0 : n - firstTimes.length,
      edgeAge: median(watches.flatMap((w) => w.edgeSamples)),
      edgeGaps: gaps,
      listingMedian: median(delays),
      listingP90: percentile(delays, 90),
      listings: delays.length,
      untimedListings: probeWatches.reduce((sum, w) => sum + w.untimedListings, 0),
      probes: probeWatches.length,
      publishersCpu: (100 * publisherCpu.seconds()) / wall,
      hostBusy,
      windowMicros: [windowStart, windowEnd],
      problems,
    };
  } finally {
    await unwindTo(mark);
  }
}

// ---------------------------------------------------------------------------------------
// Report.

function table(rows: Row[]): string {
  const header = [
    'server', 'N', 'CPU %', 'CPU %/stream', 'RSS MiB', 'RSS MiB/stream', 'PSS MiB/stream', 'PSS MiB/added stream', 'idle RSS MiB', 'procs',
    'first playlist s (median)', 'edge age s (median)', 'keyframe→listed s (median / p90)', 'publishers CPU %', 'host busy %',
  ];
  const right = header.map((_, i) => i > 0);
  const fixed = (v: number | undefined, digits: number) => (v === undefined ? 'n/a' : v.toFixed(digits));
  const hls = (r: Row, text: () => string) => (r.ingestOnly ? 'no HLS' : text());
  const body = rows.map((r) => [
    r.server,
    String(r.n),
    fixed(r.cpu, 1),
    fixed(r.cpu / r.n, 2),
    fixed(r.rssMax / MiB, 1),
    fixed(r.rssMax / MiB / r.n, 2),
    fixed(r.pssMax === undefined ? undefined : r.pssMax / MiB / r.n, 2),
    fixed(pssPerAddedStream(r), 2),
    fixed(r.idleRss / MiB, 1),
    String(r.processes),
    hls(r, () => `${fixed(r.firstPlaylist, 2)}${r.firstPlaylistMissing ? ` (${r.firstPlaylistMissing} never)` : ''}`),
    hls(r, () => fixed(r.edgeAge, 2)),
    hls(r, () => `${fixed(r.listingMedian, 3)} / ${fixed(r.listingP90, 3)} (${r.listings} on ${r.probes})`),
    fixed(r.publishersCpu, 1),
    fixed(r.hostBusy, 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/** MiB per stream the tree grew by from before publishing to its largest reading at N streams. */
function pssPerAddedStream(r: Row): number | undefined {
  return r.pssMax === undefined || r.idlePss === undefined ? undefined : (r.pssMax - r.idlePss) / MiB / r.n;
}

/** The issue's targets, judged at every N that was run: one PASS / FAIL line per target and N. */
function goalChecks(rows: Row[], counts: number[]): string[] {
  const find = (server: ServerKind, n: number) => rows.find((r) => r.server === server && r.n === n);
  const verdict = (pass: boolean | undefined) => (pass === undefined ? 'NO DATA' : pass ? 'PASS' : 'FAIL');
  const troubled = (...rs: (Row | undefined)[]) => (rs.some((r) => r !== undefined && r.problems.length > 0) ? ' (a run had problems, see below)' : '');
  const outside = (n: number, sizes: number[]) => (sizes.includes(n) ? '' : ` [N=${n} is not one of the target's sizes]`);
  const out: string[] = [];

  out.push(`target: CPU per stream <= ${CPU_RATIO_GOAL} × nginx-rtmp's, at N = ${CPU_GOAL_SIZES.join(' / ')}`);
  for (const n of counts) {
    const sd = find('streamdelta', n);
    const ng = find('nginx-rtmp', n);
    if (!sd || !ng) {
      out.push(`  N=${n}: SKIPPED (${!sd ? 'streamdelta' : 'nginx-rtmp'} was not run)`);
      continue;
    }
    const a = sd.cpu / sd.n;
    const b = ng.cpu / ng.n;
    out.push(
      `  N=${n}: ${verdict(a <= CPU_RATIO_GOAL * b)}  streamdelta ${a.toFixed(2)} %/stream vs nginx-rtmp ${b.toFixed(2)} %/stream: ${(a / b).toFixed(2)} ×` +
        `${outside(n, CPU_GOAL_SIZES)}${troubled(sd, ng)}`,
    );
  }

  out.push(
    `target: memory per added stream (PSS above the idle server, / N) <= ${PSS_PER_STREAM_GOAL_MIB} MiB, at N = ${PSS_GOAL_SIZES.join(' / ')}; ` +
      'peers nginx-rtmp and node-media-server-4 (ingest only)',
  );
  for (const n of counts) {
    const sd = find('streamdelta', n);
    if (!sd) {
      out.push(`  N=${n}: SKIPPED (streamdelta was not run)`);
      continue;
    }
    const mine = pssPerAddedStream(sd);
    const peers = (['nginx-rtmp', 'node-media-server-4'] as const).map((kind) => {
      const r = find(kind, n);
      return `${kind} ${r ? `${pssPerAddedStream(r)?.toFixed(2) ?? 'n/a'} MiB` : 'not run'}`;
    });
    out.push(
      `  N=${n}: ${verdict(mine === undefined ? undefined : mine <= PSS_PER_STREAM_GOAL_MIB)}  streamdelta ${mine?.toFixed(2) ?? 'n/a'} MiB/stream; ` +
        `${peers.join(', ')}${outside(n, PSS_GOAL_SIZES)}${troubled(sd, find('nginx-rtmp', n), find('node-media-server-4', n))}`,
    );
  }

  out.push(`target: keyframe -> segment listed <= nginx-rtmp's + ${LISTING_SLACK_SECONDS} s (medians over the probe streams), flat from N=1 to N=40`);
  const timed = (r: Row) => `${r.listingMedian!.toFixed(3)} s (p90 ${r.listingP90!.toFixed(3)})`;
  for (const n of counts) {
    const sd = find('streamdelta', n);
    const ng = find('nginx-rtmp', n);
    if (!sd || !ng) {
      out.push(`  N=${n}: SKIPPED (${!sd ? 'streamdelta' : 'nginx-rtmp'} was not run)`);
      continue;
    }
    if (sd.listingMedian === undefined || ng.listingMedian === undefined) {
      out.push(`  N=${n}: NO DATA (${sd.listingMedian === undefined ? 'streamdelta' : 'nginx-rtmp'} had no timed listing)${troubled(sd, ng)}`);
      continue;
    }
    const excess = sd.listingMedian - ng.listingMedian;
    out.push(
      `  N=${n}: ${verdict(excess <= LISTING_SLACK_SECONDS)}  streamdelta ${timed(sd)} vs nginx-rtmp ${timed(ng)}: ` +
        `${excess >= 0 ? '+' : ''}${excess.toFixed(3)} s${troubled(sd, ng)}`,
    );
  }
  // Flat: streamdelta's median at each larger N against its own at the smallest N run.
  const sdRows = counts.map((n) => find('streamdelta', n)).filter((r): r is Row => r !== undefined && r.listingMedian !== undefined);
  const base = sdRows[0];
  if (base && sdRows.length > 1) {
    for (const r of sdRows.slice(1)) {
      const growth = r.listingMedian! - base.listingMedian!;
      const ngBase = find('nginx-rtmp', base.n)?.listingMedian;
      const ngAt = find('nginx-rtmp', r.n)?.listingMedian;
      const peer = ngBase !== undefined && ngAt !== undefined ? `; nginx-rtmp's moved ${ngAt - ngBase >= 0 ? '+' : ''}${(ngAt - ngBase).toFixed(3)} s` : '';
      out.push(
        `  flat N=${base.n} -> N=${r.n}: ${verdict(growth <= LISTING_SLACK_SECONDS)}  streamdelta's median moved ` +
          `${growth >= 0 ? '+' : ''}${growth.toFixed(3)} s (at most +${LISTING_SLACK_SECONDS} s)${peer}${troubled(base, r)}`,
      );
    }
  }

  out.push("target: first playlist no later than nginx-rtmp's (medians)");
  for (const n of counts) {
    const sd = find('streamdelta', n);
    const ng = find('nginx-rtmp', n);
    if (!sd || !ng) {
      out.push(`  N=${n}: SKIPPED (${!sd ? 'streamdelta' : 'nginx-rtmp'} was not run)`);
      continue;
    }
    if (sd.firstPlaylist === undefined || ng.firstPlaylist === undefined) {
      out.push(`  N=${n}: NO DATA (a server never had a playable playlist)${troubled(sd, ng)}`);
      continue;
    }
    const close = Math.abs(sd.firstPlaylist - ng.firstPlaylist) * 1000 <= FIRST_PLAYLIST_POLL_MS ? `; within one ${FIRST_PLAYLIST_POLL_MS} ms poll step` : '';
    const pass = sd.firstPlaylistMissing > 0 ? false : sd.firstPlaylist <= ng.firstPlaylist;
    out.push(`  N=${n}: ${verdict(pass)}  streamdelta ${sd.firstPlaylist.toFixed(2)} s vs nginx-rtmp ${ng.firstPlaylist.toFixed(2)} s${close}${troubled(sd, ng)}`);
  }
  return out;
}

async function main(): Promise<number> {
  const settings = readSettings();
  const ffmpeg = which('ffmpeg');
  if (!ffmpeg) throw new Error('ffmpeg is not on PATH: it makes the source and runs the publishers (apt-get install -y ffmpeg)');
  const source = ensureSource(ffmpeg);

  const skipped: string[] = [];
  let nginx: NginxInstall | undefined;
  let nms: NmsInstall | undefined;
  let nms4: NmsInstall | undefined;
  const servers = settings.servers.filter((kind) => {
    if (kind === 'nginx-rtmp') {
      const found = findNginx();
      if (typeof found === 'string') skipped.push(`nginx-rtmp skipped: ${found}`);
      else nginx = found;
      return typeof found !== 'string';
    }
    if (kind === 'node-media-server') {
      const installed = ensureNodeMediaServer('nms', NMS_VERSION, (v) => v === NMS_VERSION);
      if (typeof installed === 'string') skipped.push(`node-media-server skipped: ${installed}`);
      else nms = installed;
      return typeof installed !== 'string';
    }
    if (kind === 'node-media-server-4') {
      const installed = ensureNodeMediaServer('nms4', NMS4_RANGE, (v) => v.startsWith(`${NMS4_RANGE}.`));
      if (typeof installed === 'string') skipped.push(`node-media-server-4 skipped: ${installed}`);
      else nms4 = installed;
      return typeof installed !== 'string';
    }
    return true;
  });
  for (const s of skipped) process.stderr.write(`bench: ${s}\n`);
  const tools: Tools = { ffmpeg, source, nginx, nms, nms4 };

  const rows: Row[] = [];
  for (const n of settings.counts) {
    for (const kind of servers) rows.push(await measure(kind, n, settings, tools));
  }

  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const versions = [
    `node ${process.version}`,
    firstLine(ffmpeg, ['-version']).replace(/ Copyright.*/, ''),
    ...(nginx ? [`${nginx.version} + rtmp module`] : []),
    ...(nms ? [`node-media-server ${nms.version} (HLS through its ffmpeg trans task)`] : []),
    ...(nms4 ? [`node-media-server ${nms4.version} (as node-media-server-4: ingest only, no HLS in 4.x)`] : []),
  ];
  const out: string[] = [
    '',
    `streamdelta media bench: ${cpus().length} × ${cpu}; ${versions.join(', ')}`,
    `source: 1280x720 30 fps H.264 2.5 Mbit/s, keyframe every 2 s, AAC 128 kbit/s, ${SOURCE_SECONDS} s looped; ` +
      `each publisher: ffmpeg -re -stream_loop -1 -c copy -f flv; HLS: ${SEGMENT_SECONDS} s segments, ${LIVE_WINDOW} in the live playlist`,
    `${settings.duration} s of CPU and memory per row (playlists read every ~${QUIET_POLL_MS / 1000} s), after every stream of the row has a playable playlist, ` +
      `then ${LATENCY_SECONDS} s of edge age and keyframe → listed ` +
      `(node-media-server-4: after ${NMS4_WARMUP_SECONDS} s of publishing, it has no playlist)`,
    '',
    table(rows),
    '',
    'CPU %: user + system time of the server\'s whole process tree over the measured seconds, 100 % = one core',
    '  (streamdelta: one node process; nginx-rtmp: master + worker; node-media-server: node + one ffmpeg per stream;',
    '  node-media-server-4: one node process, ingest only, since 4.x has no HLS output: its CPU and memory carry no HLS work).',
    'RSS MiB: the largest sum of the tree\'s resident sets over the once-a-second samples; /stream divides by N.',
    '  PSS splits shared pages (such as the libraries of many ffmpegs) among their processes. idle RSS: the tree before publishing.',
    '  PSS MiB/added stream: (the largest PSS of the tree while measuring − its PSS before publishing, streams already created) / N.',
    'first playlist: from a publisher\'s spawn to its live playlist listing a segment that fetches (200, MPEG-TS), polled every',
    `  ${FIRST_PLAYLIST_POLL_MS} ms; median over the N streams.`,
    'edge age: seconds of media a publisher has sent that its live playlist does not list yet: (now − the publisher\'s -re pacing',
    '  origin, from ffmpeg -progress) − (sum of EXTINF from the first segment through the newest listed); read every 0.5–1.5 s',
    '  (jittered) per stream, median over all readings. It includes waiting for the keyframe that closes a segment, so it moves between the',
    `  server's delay and that plus one segment (${SEGMENT_SECONDS} s); a player at the live edge is at least this far behind.`,
    `keyframe→listed: on the first min(N, ${PROBE_STREAMS}) streams (probes; the others keep the ~1 s reading, so every server gets the same`,
    `  load), the live playlist is read every ${PROBE_POLL_MS} ms from ${PROBE_LEAD_MS} ms before each segment is due until it is listed; when a media sequence first appears, its delay is`,
    '  (time of that reading\'s answer) − (when the keyframe that closed it went to the server), i.e. from the keyframe leaving the',
    '  publisher to the segment being listed. The probes publish through a keyframe tap, a relay in this bench that notes when each',
    '  keyframe goes to the server; the closing keyframe is the one at the first keyframe\'s RTMP timestamp + the sum of EXTINF from the',
    `  first segment through it (within ${KEYFRAME_MATCH_MS} ms). Median / p90 over every listing on the probes,`,
    `  (count on probes); its resolution is one reading interval (~${PROBE_POLL_MS} ms plus the request), and a listing whose readings were`,
    `  more than ${PROBE_MAX_WINDOW_MS} ms apart is not timed. no HLS: the server has no playlist.`,
    'publishers CPU % / host busy %: the N ffmpeg publishers, and the whole machine (100 % per core), over the same seconds.',
    `  This machine has ${cpus().length} cores: when host busy nears ${cpus().length * 100} %, the servers compete with the publishers and this bench,`,
    '  and latencies grow.',
  ];
  if (settings.cpuProfDir) {
    out.push(`CPU profiles of the streamdelta servers are in ${settings.cpuProfDir} (one file per row, in row order); profiling slows them down.`);
    out.push('  Their steady-state seconds, on the profiles\' clock (startTime and timeDeltas, µs; CLOCK_MONOTONIC as process.hrtime):');
    for (const r of rows) if (r.server === 'streamdelta') out.push(`  streamdelta N=${r.n}: ${r.windowMicros[0]} to ${r.windowMicros[1]}`);
  }
  out.push(...skipped);
  out.push('', ...goalChecks(rows, settings.counts));

  let ok = true;
  for (const r of rows) {
    if (r.edgeGaps > 0) out.push(`note: ${r.server} N=${r.n}: ${r.edgeGaps} edge readings skipped (a segment left the playlist unseen)`);
    if (r.untimedListings > 0) out.push(`note: ${r.server} N=${r.n}: ${r.untimedListings} probe listings not timed (readings too far apart, or a segment unseen)`);
    for (const p of r.problems) {
      ok = false;
      out.push(`PROBLEM: ${r.server} N=${r.n}: ${p}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return ok ? 0 : 1;
}

let status = 1;
try {
  status = await main();
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
    status = 2;
  } else if (!interrupted) {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
} finally {
  await unwindTo(0);
}
process.exit(interrupted ? 130 : status);
