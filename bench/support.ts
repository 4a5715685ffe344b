/**
 * What the media, relay, fan-out, HLS delivery and idle benches share: clean-up of every child process and temp dir, the
 * cached source file, finding nginx and its RTMP module, starting and waiting for servers,
 * the rig API calls that set a stream up, and reading CPU and memory from /proc (Linux).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const SOURCE_SECONDS = 36;

/** What stays between runs: the source file and the node-media-server install. */
export const CACHE_DIR = join(tmpdir(), 'streamdelta-bench-media-cache');

export const cleanups: { what: string; run: () => Promise<void> | void }[] = [];

/** Process groups of the servers (each server is started as the leader of its own group). */
export const serverGroups = new Set<number>();

export const aborted = new AbortController();

export async function unwindTo(mark: number): Promise<void> {
  while (cleanups.length > mark) {
    const c = cleanups.pop()!;
    try {
      await c.run();
    } catch (err) {
      process.stderr.write(`bench: could not clean up ${c.what}: ${(err as Error).message}\n`);
    }
  }
}

export function killGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // The group is gone.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (aborted.signal.aborted) return reject(new Error('interrupted'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('interrupted'));
    };
    const timer = setTimeout(() => {
      aborted.signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    aborted.signal.addEventListener('abort', onAbort, { once: true });
  });
}

export const now = () => performance.now();

export function which(program: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const path = join(dir, program);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

export function firstLine(program: string, args: string[]): string {
  const out = spawnSync(program, args, { encoding: 'utf8' });
  return `${out.stdout ?? ''}${out.stderr ?? ''}`.split('\n')[0]?.trim() ?? '';
}

export interface NginxInstall {
  binary: string;
  /** The load_module line, or '' when the module is built in. */
  loadModule: string;
  version: string;
}

/** Finds nginx and its RTMP module, or says how to install them. */
export function findNginx(): NginxInstall | string {
  const hint = 'install them with: apt-get install -y nginx libnginx-mod-rtmp';
  const binary = which('nginx', ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin']);
  if (!binary) return `nginx is not installed; ${hint}`;
  const info = spawnSync(binary, ['-V'], { encoding: 'utf8' });
  const configure = `${info.stdout ?? ''}${info.stderr ?? ''}`;
  const version = configure.split('\n')[0]?.replace(/^nginx version:\s*/, '').trim() ?? 'nginx';
  if (/--add-module=\S*rtmp/.test(configure)) return { binary, loadModule: '', version };
  const candidates = ['/usr/lib/nginx/modules', '/usr/share/nginx/modules', '/usr/lib64/nginx/modules', '/usr/local/nginx/modules'].map((d) =>
    join(d, 'ngx_rtmp_module.so'),
  );
  // Debian's package also names its module in modules-available, relative to nginx's prefix.
  const available = '/usr/share/nginx/modules-available/mod-rtmp.conf';
  if (existsSync(available)) {
    const named = /load_module\s+(\S+?);/.exec(readFileSync(available, 'utf8'))?.[1];
    if (named) candidates.push(named.startsWith('/') ? named : join('/usr/share/nginx', named));
  }
  const module = candidates.find((c) => existsSync(c));
  if (!module) return `the nginx RTMP module (ngx_rtmp_module.so) is not installed; ${hint}`;
  return { binary, loadModule: `load_module ${quote(module)};`, version };
}

/** An nginx config string. */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** The source every publisher sends, made once and cached. */
export function ensureSource(ffmpeg: string): string {
  mkdirSync(CACHE_DIR, { recursive: true });
  const file = join(CACHE_DIR, `source-720p30-h264-2500k-g60-aac-${SOURCE_SECONDS}s.flv`);
  if (existsSync(file)) return file;
  const partial = `${file}.${process.pid}.partial`;
  cleanups.push({ what: `partial source ${partial}`, run: () => rmSync(partial, { force: true }) });
  process.stderr.write(`bench: making the ${SOURCE_SECONDS} s 720p30 source with ffmpeg (once; cached in ${CACHE_DIR})\n`);
  const out = spawnSync(
    ffmpeg,
    [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(SOURCE_SECONDS), '-map', '0:v', '-map', '1:a',
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
      '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '5000k',
      '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
      '-f', 'flv', partial,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (out.status !== 0) throw new Error(`ffmpeg could not make the source: ${(out.stderr ?? '').trim()}`);
  renameSync(partial, file);
  return file;
}

export interface ServerProcess {
  pid: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** The environment of a server child: none of the parent's streamdelta settings leak in. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('STREAMDELTA_') || name === 'DATABASE_URL' || name === 'REDIS_URL' || name.startsWith('BENCH_')) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

export async function waitForPorts(server: ServerProcess, name: string, ports: number[]): Promise<void> {
  const deadline = now() + 20_000;
  for (;;) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`${name} exited; its output:\n${server.output().trim()}`);
    const open = await Promise.all(ports.map(portOpen));
    if (open.every(Boolean)) return;
    if (now() > deadline) throw new Error(`${name} did not listen on ${ports.join(', ')} within 20 s; its output:\n${server.output().trim()}`);
    await sleep(50);
  }
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

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

export async function api(base: string, method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<any> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`streamdelta: ${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

export const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

export const PAGE_SIZE = Number(spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).stdout?.trim()) || 4096;

export const MiB = 1024 * 1024;

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
  /** Start time since boot, to tell a pid from its reuse. */
  start: string;
}

export function rssBytes(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_SIZE;
  } catch {
    return 0;
  }
}

/** Busy ticks of the whole machine (all cores), from /proc/stat. */
export function hostBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return total - (v[3] ?? 0) - (v[4] ?? 0);
}

// ---------------------------------------------------------------------------------------
// Clean-up of children and temp dirs, shared by the relay, fan-out and HLS delivery benches.

/** Child processes that are not servers (publishers, sinks, load generators), killed on exit. */
export const children = new Set<ChildProcess>();


/** Set once Ctrl-C or SIGTERM asked the bench to stop. */
export const signals = { interrupted: false };

export function installSignalHandlers(): void {
  // Last resort if the process exits before the clean-ups ran: nothing outlives the bench.
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
    for (const group of serverGroups) killGroup(group, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (signals.interrupted) process.exit(130);
      signals.interrupted = true;
      process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
      aborted.abort();
      unwindTo(0).finally(() => process.exit(130));
    });
  }
}


/** A temp dir removed at the next unwind past this point. */
export function tempDir(label: string, bench = 'relay'): string {
  const dir = mkdtempSync(join(tmpdir(), `streamdelta-bench-${bench}-${label}-`));
  cleanups.push({ what: `temp dir ${dir}`, run: () => rmSync(dir, { recursive: true, force: true }) });
  return dir;
}

/** Media bytes per second of the source (audio and video payloads), from ffprobe. */
export function sourceRate(file: string): { bitsPerSecond: number; description: string } {
  const out = spawnSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_entries', 'format=duration,bit_rate:stream=codec_type,width,height,avg_frame_rate', file], {
    encoding: 'utf8',
  });
  const json = JSON.parse(out.stdout || '{}') as { format?: { bit_rate?: string }; streams?: { codec_type: string; width?: number; height?: number; avg_frame_rate?: string }[] };
  const video = json.streams?.find((s) => s.codec_type === 'video');
  const bits = Number(json.format?.bit_rate ?? 0);
  return {
    bitsPerSecond: bits,
    description: `${video?.width ?? '?'}x${video?.height ?? '?'} ${video?.avg_frame_rate ?? '?'} fps H.264 + AAC, ${(bits / 1e6).toFixed(2)} Mbit/s overall`,
  };
}

export function spawnServer(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ServerProcess {
  if (signals.interrupted) throw new Error('interrupted');
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
    killGroup(pid, 'SIGKILL');
    serverGroups.delete(pid);
  };
  cleanups.push({ what: `${name} (pid ${pid})`, run: stop });
  return { pid, child, output: () => output, stop };
}

export interface Publisher {
  child: ChildProcess;
  exitedEarly: string | undefined;
  stop(): Promise<void>;
}

export function startPublisher(ffmpeg: string, source: string, url: string): Publisher {
  const child = spawn(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', source, '-c', 'copy', '-f', 'flv', url], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let stopping = false;
  let stderr = '';
  const publisher: Publisher = {
    child,
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
      children.delete(child);
    },
  };
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-1000);
  });
  child.once('exit', (code, signal) => {
    if (!stopping) publisher.exitedEarly = `exited (${signal ?? `status ${code}`}): ${stderr.trim() || 'no output'}`;
  });
  cleanups.push({ what: `publisher (pid ${child.pid})`, run: publisher.stop });
  return publisher;
}

// Process measurements, from /proc.

export function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), start: f[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** A process and all its descendants, now. */
export function processTree(root: number): ProcStat[] {
  const all: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) all.push(stat);
  }
  const inTree = new Set([root]);
  for (let added = true; added; ) {
    added = false;
    for (const p of all) {
      if (!inTree.has(p.pid) && inTree.has(p.ppid)) {
        inTree.add(p.pid);
        added = true;
      }
    }
  }
  return all.filter((p) => inTree.has(p.pid));
}


/**
 * CPU seconds of every thread of a process, keyed by thread: from /proc/PID/task/TID/schedstat
 * (time on CPU in nanoseconds), since the clock ticks of /proc/PID/stat (10 ms) are too coarse
 * for servers that use 1 % of a core; the ticks are the fallback where schedstat is missing.
 */
export function threadCpu(p: ProcStat): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${p.pid}/task`)) {
      try {
        const ns = Number(readFileSync(`/proc/${p.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        if (Number.isFinite(ns)) out.set(`${p.pid}:${p.start}:${tid}`, ns / 1e9);
      } catch {
        // The thread ended.
      }
    }
  } catch {
    // The process ended.
  }
  if (out.size === 0) out.set(`${p.pid}:${p.start}:ticks`, p.ticks / CLOCK_TICKS);
  return out;
}

/** CPU time of a changing set of processes and threads over a window (one born inside it counts from 0). */
export class CpuMeter {
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private samples = 0;

  sample(procs: ProcStat[]): void {
    for (const p of procs) {
      for (const [key, seconds] of threadCpu(p)) {
        if (!this.first.has(key)) this.first.set(key, this.samples === 0 ? seconds : 0);
        this.last.set(key, seconds);
      }
    }
    this.samples++;
  }

  seconds(): number {
    let total = 0;
    for (const [key, last] of this.last) total += last - this.first.get(key)!;
    return total;
  }
}

// ---------------------------------------------------------------------------------------
// streamdelta as a bench server.

/** This file runs as dist/bench/support.js; the CLI is bin/streamdelta.js at the repository root. */
const STREAMDELTA_CLI = new URL('../../bin/streamdelta.js', import.meta.url).pathname;

export interface StreamdeltaServer {
  process: ServerProcess;
  /** http://host:port */
  http: string;
  /** rtmp://host:port/app */
  rtmp: string;
}

/** `streamdelta serve` in its own process group on free ports, optionally under `node --cpu-prof`. */
export async function startStreamdeltaServer(dir: string, cpuProfDir: string | undefined, extraArgs: string[] = []): Promise<StreamdeltaServer> {
  const nodeArgs = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const server = spawnServer(
    'streamdelta',
    process.execPath,
    [...nodeArgs, STREAMDELTA_CLI, 'serve', '--http-host', '127.0.0.1', '--http-port', '0', '--rtmp-port', '0', '--data-dir', dir, '--log-level', 'warn', ...extraArgs],
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
  return { process: server, http: match[1]!, rtmp: match[2]! };
}

/** An account on a fresh bench server, and its API token. */
export async function benchAccount(http: string): Promise<string> {
  const username = 'bench';
  const password = 'bench-password-0123';
  await api(http, 'POST', '/accounts/', { body: { username, password, email: 'bench@example.com' } });
  return (await api(http, 'POST', '/accounts/auth/local', { body: { username, password } })).payload.token as string;
}

export async function benchStream(http: string, token: string): Promise<{ id: string; streamKey: string }> {
  return (await api(http, 'POST', '/streams/', { token })).payload as { id: string; streamKey: string };
}

/** A markdown table, numbers (every column but the first) right-aligned. */
export function renderTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i > 0 ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/** What the threads of one process have done so far, keyed by thread id. */
export interface ThreadCounters {
  /** Nanoseconds on a CPU (/proc/PID/task/TID/schedstat, exact, unlike the tick-sampled utime). */
  runNs: number;
  /** Voluntary + involuntary context switches: each one is the thread going to sleep or being preempted, so about one wake-up each. */
  switches: number;
}

/** The counters of each live thread of `pid` (thread id → counters); empty once it is gone. */
export function threadCounters(pid: number): Map<number, ThreadCounters> {
  const threads = new Map<number, ThreadCounters>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const runNs = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const voluntary = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const involuntary = Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      threads.set(Number(tid), { runNs, switches: voluntary + involuntary });
    } catch {
      // The thread ended meanwhile.
    }
  }
  return threads;
}

/** An nginx config with the RTMP module: one worker, `hls on` into `hlsDir`, served over HTTP from it. */
export function nginxRtmpConfig(
  nginx: NginxInstall,
  dir: string,
  hlsDir: string,
  ports: { rtmp: number; http: number },
  hls: { segmentSeconds: number; liveWindow: number },
): string {
  return `${nginx.loadModule}
worker_processes 1;
pid ${quote(join(dir, 'nginx.pid'))};
error_log stderr warn;
events { worker_connections 1024; }
rtmp {
  server {
    listen 127.0.0.1:${ports.rtmp};
    application live {
      live on;
      record off;
      hls on;
      hls_path ${quote(hlsDir)};
      hls_fragment ${hls.segmentSeconds}s;
      hls_playlist_length ${hls.segmentSeconds * hls.liveWindow}s;
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
    listen 127.0.0.1:${ports.http};
    location / {
      root ${quote(hlsDir)};
      add_header Cache-Control no-cache;
    }
  }
}
`;
}
