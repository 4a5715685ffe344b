/**
 * Idle bench: what `streamdelta serve` costs when nothing happens (no streams, no requests),
 * next to nginx-rtmp idling in the same run.
 *
 *   npm run bench:idle [-- --duration 60]
 *
 * Every server is started fresh (its own child process and temp dir, HTTP and RTMP on free
 * ports), left to settle for --settle seconds once it listens, and then all of them are
 * measured over the same --duration seconds: nothing is sent to any of them meanwhile. The
 * servers run side by side, so the same background load falls on each.
 *
 * Rows:
 * - streamdelta on SQLite with the in-process bus (the defaults);
 * - streamdelta on PostgreSQL + Redis (how a cluster node idles), when TEST_DATABASE_URL and
 *   TEST_REDIS_URL are set: a fresh PostgreSQL schema, dropped afterwards, and the Redis bus. The
 *   bus channel is shared with whatever else uses that Redis, whose events this node hears;
 * - nginx-rtmp: Debian's `nginx` + `libnginx-mod-rtmp` (1 worker, `hls on`), the peer. Skipped,
 *   with the install command, when either is missing.
 *
 * Target (issue 17): an idle streamdelta spends at most 0.1 % of a core. What each column
 * means is printed under the table. --cpu-prof DIR runs the streamdelta servers under
 * `node --cpu-prof` to see what the CPU left goes to.
 *
 * Benches are never run by CI or tests: the numbers depend on the machine.
 */
import { cpus, tmpdir } from 'node:os';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  CLOCK_TICKS,
  aborted,
  childEnv,
  cleanups,
  findNginx,
  freePort,
  killGroup,
  nginxRtmpConfig,
  now,
  processTree,
  serverGroups,
  sleep,
  spawnServer,
  threadCounters,
  unwindTo,
  waitForPorts,
  type ServerProcess,
} from './support.js';

// This file runs as dist/bench/idle.js; the CLI is bin/streamdelta.js at the repository root.
const CLI = fileURLToPath(new URL('../../bin/streamdelta.js', import.meta.url));

/** The issue's target: percent of one core. */
const TARGET_PERCENT = 0.1;

const USAGE = `Usage: npm run bench:idle [-- options]

Options (each also read from its environment variable):
  --duration SEC   BENCH_DURATION   measured idle seconds (default 60; 10 for a quick look)
  --settle SEC     BENCH_SETTLE     seconds left alone after start-up before measuring (default 120:
                                    past V8's one-off memory-reducing collections after start)
  --cpu-prof DIR   BENCH_CPU_PROF   run the streamdelta servers with node --cpu-prof, writing
                                    .cpuprofile files to DIR

The PostgreSQL + Redis row runs when TEST_DATABASE_URL and TEST_REDIS_URL are set.
nginx-rtmp needs Debian's nginx and libnginx-mod-rtmp.
`;

class UsageError extends Error {}

interface Settings {
  duration: number;
  settle: number;
  cpuProfDir: string | undefined;
}

function settingsFrom(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      settle: { type: 'string' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const seconds = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > 3600) throw new UsageError(`--${name} must be a number of seconds from ${min} to 3600, not ${JSON.stringify(raw)}`);
    return value;
  };
  return {
    duration: seconds('duration', values.duration ?? process.env.BENCH_DURATION, 60, 1),
    // An idle server is one past its start: V8's memory reducer compacts the start-up heap once,
    // a minute or two after start, which a window right after start would count as idling.
    settle: seconds('settle', values.settle ?? process.env.BENCH_SETTLE, 120, 0),
    cpuProfDir: values['cpu-prof'] ?? (process.env.BENCH_CPU_PROF || undefined),
  };
}

// Last resort if the process exits before the clean-ups ran: nothing outlives the bench.
process.on('exit', () => {
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
  const dir = mkdtempSync(join(tmpdir(), `streamdelta-bench-idle-${label}-`));
  cleanups.push({ what: `temp dir ${dir}`, run: () => rmSync(dir, { recursive: true, force: true }) });
  return dir;
}

// ---------------------------------------------------------------------------------------
// Servers.

/** One garbage collection V8 reported (--trace-gc): when, in ms since the process started, and its kind. */
interface GcEvent {
  atMs: number;
  kind: string;
  pauseMs: number;
}

interface IdleServer {
  name: string;
  /** What it runs on: database and bus, or the peer's setup. */
  setup: string;
  process: ServerProcess;
  /** A peer is measured the same way and has no target. */
  peer: boolean;
  /** When it was spawned (bench clock, ms), the origin of its GC times. */
  spawnedAt: number;
  /** Its garbage collections so far (streamdelta only). */
  gcs?: GcEvent[];
}

/** Collects the `--trace-gc` lines of a node process, e.g. `[123:0x…]  73573 ms: Mark-Compact (reduce) 28.9 (72.7) -> … MB, 228.95 / 0.21 ms …`. */
function collectGcs(server: ServerProcess): GcEvent[] {
  const gcs: GcEvent[] = [];
  let partial = '';
  server.child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: ([A-Za-z-]+(?: \(reduce\))?) .*?MB, ([\d.]+) \//.exec(line);
      if (m) gcs.push({ atMs: Number(m[1]), kind: m[2]!, pauseMs: Number(m[3]) });
    }
  });
  return gcs;
}

/** A fresh PostgreSQL schema for one server, dropped at clean-up; its DATABASE_URL. */
async function postgresSchema(base: string): Promise<string> {
  const schema = `bench_idle_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`create schema ${schema}`);
  cleanups.push({ what: `PostgreSQL schema ${schema}`, run: () => run(`drop schema if exists ${schema} cascade`) });
  return `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

async function startStreamdelta(name: string, setup: string, settings: Settings, extraArgs: string[]): Promise<IdleServer> {
  const dir = tempDir(name.replace(/\W+/g, '-'));
  // --trace-gc costs a line per collection; it tells a one-time collection apart from a loop.
  const nodeArgs = ['--trace-gc', ...(settings.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', settings.cpuProfDir] : [])];
  const spawnedAt = now();
  const server = spawnServer(
    name,
    process.execPath,
    [...nodeArgs, CLI, 'serve', '--http-host', '127.0.0.1', '--http-port', '0', '--rtmp-port', '0', '--data-dir', dir, '--log-level', 'warn', ...extraArgs],
    childEnv(),
  );
  const gcs = collectGcs(server);
  const ready = /streamdelta listening on (http:\/\/\S+) \(HTTP\)/;
  const deadline = now() + 60_000;
  while (!ready.test(server.output())) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`${name} exited; its output:\n${server.output().trim()}`);
    if (now() > deadline) throw new Error(`${name} did not start within 60 s; its output:\n${server.output().trim()}`);
    await sleep(50);
  }
  return { name, setup, process: server, peer: false, spawnedAt, gcs };
}

async function startNginx(): Promise<IdleServer | string> {
  const nginx = findNginx();
  if (typeof nginx === 'string') return nginx;
  const dir = tempDir('nginx');
  const hls = join(dir, 'hls');
  mkdirSync(hls);
  // A root master runs its worker as an unprivileged user, which writes the fragments.
  chmodSync(dir, 0o755);
  chmodSync(hls, 0o777);
  const ports = { rtmp: await freePort(), http: await freePort() };
  const config = join(dir, 'nginx.conf');
  writeFileSync(config, nginxRtmpConfig(nginx, dir, hls, ports, { segmentSeconds: 2, liveWindow: 6 }));
  const spawnedAt = now();
  const server = spawnServer('nginx-rtmp', nginx.binary, ['-g', 'daemon off;', '-c', config, '-p', `${dir}/`], childEnv());
  await waitForPorts(server, 'nginx-rtmp', [ports.rtmp, ports.http]);
  return { name: 'nginx-rtmp', setup: `${nginx.version}, rtmp module, 1 worker, hls on`, process: server, peer: true, spawnedAt };
}

// ---------------------------------------------------------------------------------------
// Measurement, from /proc.

interface Reading {
  /** utime + stime of each process of the tree, by pid and start time. */
  ticks: Map<string, number>;
  /** Each thread's counters, by pid, start time and thread id. */
  threads: Map<string, { runNs: number; switches: number }>;
}

function read(root: number): Reading {
  const ticks = new Map<string, number>();
  const threads = new Map<string, { runNs: number; switches: number }>();
  for (const p of processTree(root)) {
    const key = `${p.pid}:${p.start}`;
    ticks.set(key, p.ticks);
    for (const [tid, counters] of threadCounters(p.pid)) threads.set(`${key}:${tid}`, counters);
  }
  return { ticks, threads };
}

interface Row {
  server: IdleServer;
  /** Percent of one core from utime + stime (clock ticks). */
  tickPercent: number;
  /** Percent of one core from the threads' schedstat run time (nanoseconds). */
  exactPercent: number;
  /** Context switches per second, all threads of the tree. */
  wakeupsPerSecond: number;
  threads: number;
  processes: number;
  /** V8's garbage collections inside the window (undefined: not a node process). */
  gcs: GcEvent[] | undefined;
}

/** What each server did between two readings `seconds` apart; a process or thread born in between counts from zero. */
function row(server: IdleServer, before: Reading, after: Reading, window: [number, number]): Row {
  const seconds = (window[1] - window[0]) / 1000;
  let ticks = 0;
  for (const [key, last] of after.ticks) ticks += last - (before.ticks.get(key) ?? 0);
  let runNs = 0;
  let switches = 0;
  for (const [key, last] of after.threads) {
    const first = before.threads.get(key);
    runNs += last.runNs - (first?.runNs ?? 0);
    switches += last.switches - (first?.switches ?? 0);
  }
  return {
    server,
    tickPercent: (ticks / CLOCK_TICKS / seconds) * 100,
    exactPercent: (runNs / 1e9 / seconds) * 100,
    wakeupsPerSecond: switches / seconds,
    threads: after.threads.size,
    processes: after.ticks.size,
    gcs: server.gcs?.filter((gc) => gc.atMs >= window[0] - server.spawnedAt && gc.atMs <= window[1] - server.spawnedAt),
  };
}

function table(rows: Row[]): string {
  const header = ['server', 'runs on', 'CPU % (utime+stime)', 'CPU % (exact)', 'wakeups/s', 'V8 GCs', 'processes', 'threads', 'target', 'result'];
  const body = rows.map((r) => [
    r.server.name,
    r.server.setup,
    r.tickPercent.toFixed(3),
    r.exactPercent.toFixed(3),
    r.wakeupsPerSecond.toFixed(1),
    r.gcs === undefined ? '–' : r.gcs.length === 0 ? '0' : `${r.gcs.length}: ${r.gcs.map((gc) => `${gc.kind} ${gc.pauseMs.toFixed(0)} ms`).join(', ')}`,
    String(r.processes),
    String(r.threads),
    r.server.peer ? 'peer' : `<= ${TARGET_PERCENT} %`,
    r.server.peer ? '–' : r.exactPercent <= TARGET_PERCENT ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<number> {
  const settings = settingsFrom(process.argv.slice(2));
  if (settings.cpuProfDir) mkdirSync(settings.cpuProfDir, { recursive: true });
  const notes: string[] = [];

  const servers: IdleServer[] = [await startStreamdelta('streamdelta', 'SQLite, in-process bus', settings, [])];
  const databaseUrl = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (databaseUrl && redisUrl) {
    const url = await postgresSchema(databaseUrl);
    servers.push(await startStreamdelta('streamdelta', 'PostgreSQL, Redis bus', settings, ['--database-url', url, '--redis-url', redisUrl]));
  } else {
    notes.push('streamdelta on PostgreSQL + Redis skipped: set TEST_DATABASE_URL and TEST_REDIS_URL to measure it.');
  }
  const nginx = await startNginx();
  if (typeof nginx === 'string') notes.push(`nginx-rtmp skipped: ${nginx}`);
  else servers.push(nginx);
  for (const n of notes) process.stderr.write(`bench: ${n}\n`);

  process.stderr.write(`bench: ${servers.length} servers up; settling ${settings.settle} s, then measuring ${settings.duration} s\n`);
  await sleep(settings.settle * 1000);
  const before = servers.map((s) => read(s.process.pid));
  const started = now();
  await sleep(settings.duration * 1000);
  const ended = now();
  const seconds = (ended - started) / 1000;
  const after = servers.map((s) => read(s.process.pid));
  for (const s of servers) {
    if (s.process.child.exitCode !== null || s.process.child.signalCode !== null) throw new Error(`${s.name} (${s.setup}) exited while idle; its output:\n${s.process.output().trim()}`);
  }
  const rows = servers.map((s, i) => row(s, before[i]!, after[i]!, [started, ended]));

  const out = [
    '',
    `streamdelta idle bench: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}; node ${process.version}`,
    `${seconds.toFixed(1)} s measured, side by side, after ${settings.settle} s of settling; no streams, no requests`,
    '',
    table(rows),
    '',
    'CPU %: of one core, for the server\'s whole process tree over the measured seconds. utime+stime is what /proc/PID/stat',
    `  counts, in clock ticks of ${1000 / CLOCK_TICKS} ms (one tick over ${seconds.toFixed(0)} s is ${(100 / CLOCK_TICKS / seconds).toFixed(3)} %); exact is the sum of`,
    '  every thread\'s run time from /proc/PID/task/TID/schedstat (nanoseconds). The result is judged on the exact reading.',
    'wakeups/s: voluntary + involuntary context switches of every thread of the tree, per second (each a sleep or a',
    '  preemption: about one wake-up each).',
    'V8 GCs: the garbage collections node reported (--trace-gc) inside the window, with their main-thread pause; the pause',
    '  is only part of their CPU (marking steps and helper threads are the rest). A "Mark-Compact (reduce)" is V8\'s memory',
    '  reducer giving back the start-up heap once, a minute or two after start (it looks every 8 s until then): a window',
    '  that holds it costs a few tenths of a percent, once, not a loop; a longer --settle leaves it out.',
    'Short runs are coarse: others\' work on the same cores and the first timers after start-up show in them.',
    ...notes,
  ];
  if (settings.cpuProfDir) out.push(`CPU profiles of the streamdelta servers are in ${settings.cpuProfDir} (written when they stop).`);
  process.stdout.write(`${out.join('\n')}\n`);
  return rows.every((r) => r.server.peer || r.exactPercent <= TARGET_PERCENT) ? 0 : 1;
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
