/**
 * What the media, relay and idle benches share: clean-up of every child process and temp dir, the
 * cached source file, finding nginx and its RTMP module, starting and waiting for servers,
 * the rig API calls that set a stream up, and reading CPU and memory from /proc (Linux).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
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

/**
 * A server as a child process leading its own process group, so its children (nginx's worker)
 * are measured with it and stopped with it; registered for clean-up.
 */
export function spawnServer(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ServerProcess {
  if (aborted.signal.aborted) throw new Error('interrupted');
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

/** A process's parent, CPU ticks and start time from /proc/PID/stat; undefined once it is gone. */
export function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name (in parentheses, may contain spaces): ppid is field 4, utime 14,
    // stime 15, starttime 22.
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
  return all.filter((p) => inTree.has(p.pid));
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
