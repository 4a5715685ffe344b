/**
 * Relay bench: one 2.5 Mbit/s ingest restreamed to K local destinations, and S ingests at once
 * restreamed to K destinations each (10 × 2 by default), streamdelta next to nginx-rtmp's `push`
 * to the same kind of receivers, in one run.
 *
 *   npm run bench:relay [-- --duration 20 --warmup 5 --counts 0,1,5,10 --streams 10 --stream-counts 0,2 --rounds 1]
 *
 * Source: the media bench's cached 720p30 H.264 (2.5 Mbit/s, a keyframe every 2 s) + AAC FLV
 * file of 36 s, made once with ffmpeg from lavfi and kept in the OS temp directory. Each
 * publisher is `ffmpeg -re -stream_loop -1 -i source.flv -c copy -f flv rtmp://…`.
 *
 * Receivers: one sink process (this file run with --sink) that accepts any number of RTMP
 * publishes on one port and counts the media bytes each publish name receives. Every
 * destination of every run has its own name, so the bench checks that each destination got the
 * stream in real time during the measured window, and that none reconnected.
 *
 * For each K and each server: a fresh server (its own child process and temp dir) with K
 * destinations; the publisher starts; after --warmup seconds, --duration seconds are measured:
 * each second the server's process tree is sampled (CPU, RSS), and the sink's byte counts are
 * read at both ends. K = 0 is the ingest alone (streamdelta also records HLS, which it always
 * does; nginx-rtmp only takes the stream), the baseline of the per-destination slope.
 *
 * - streamdelta: `streamdelta serve`, destinations added through the rig API (service RTMP,
 *   the key a full rtmp:// URL of the sink).
 * - nginx-rtmp: Debian's `nginx` + `libnginx-mod-rtmp` in the foreground from a temp config:
 *   1 worker, `live on`, one `push rtmp://…` line per destination. Skipped, with the install
 *   command, when either is missing; the bench never installs system packages.
 * - nginx-rtmp-hls: the same plus `hls on` (2 s fragments, 12 s playlist, as streamdelta's
 *   defaults), since streamdelta always records HLS of what it relays: the like-for-like peer.
 *
 * Goal of the issue, checked at every K >= 1: streamdelta's CPU per destination is at most
 * 1.5 × nginx-rtmp's `push`, nginx-rtmp doing for each stream what streamdelta does for every
 * stream it takes: streamdelta records every broadcast as HLS (the design's rule, and Mux's:
 * every live stream is recorded), so its like-for-like peer is nginx-rtmp-hls. Printed next to
 * it, without a verdict: the same against nginx-rtmp pushing and doing nothing else, with how
 * much of that budget streamdelta's ingest alone (K = 0) already takes, and the cost of the
 * relays alone (CPU above K = 0, per destination) against nginx-rtmp's.
 *
 * Benches are never run by CI or tests: the numbers depend on the machine.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RtmpServer } from '../src/media/rtmp/server.js';
import type { PublishSink } from '../src/media/rtmp/connection.js';
import { RtmpRejection } from '../src/media/rtmp/connection.js';
import {
  SOURCE_SECONDS,
  CACHE_DIR,
  cleanups,
  unwindTo,
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
  startStreamdeltaServer,
  benchAccount,
  benchStream,
  waitForPorts,
  freePort,
  api,
  CLOCK_TICKS,
  MiB,
  rssBytes,
  hostBusyTicks,
  children,
  signals,
  installSignalHandlers,
  tempDir,
  sourceRate,
  spawnServer,
  startPublisher,
  readStat,
  processTree,
  CpuMeter,
} from './support.js';

const SELF = fileURLToPath(import.meta.url);

const SAMPLE_MS = 1000;
const CPU_RATIO_GOAL = 1.5;
/** A destination that got less than this share of the ingest's rate in the window was not keeping up. */
const MIN_DELIVERY_SHARE = 0.9;

const SERVER_KINDS = ['streamdelta', 'nginx-rtmp', 'nginx-rtmp-hls'] as const;
type ServerKind = (typeof SERVER_KINDS)[number];

const USAGE = `Usage: npm run bench:relay [-- options]

Options (each also read from its environment variable):
  --duration SEC      BENCH_DURATION   measured seconds per server and K (default 20)
  --warmup SEC        BENCH_WARMUP     seconds after the publish starts, not measured (default 5)
  --counts LIST       BENCH_COUNTS     destinations of one stream, comma-separated; 0 = ingest only (default 0,1,5,10)
  --streams N         BENCH_STREAMS    also run N streams at once, 0 = not (default 10), each with
  --stream-counts LIST BENCH_STREAM_COUNTS  this many destinations, comma-separated (default 0,2)
  --rounds N          BENCH_ROUNDS     repeat every row N times, interleaved, and report medians (default 1)
  --servers LIST      BENCH_SERVERS    which servers to run (default ${SERVER_KINDS.join(',')})
  --cpu-prof DIR      BENCH_CPU_PROF   run the streamdelta servers with node --cpu-prof,
                                       writing .cpuprofile files to DIR (slows them down)

Needs ffmpeg on PATH. nginx-rtmp rows need Debian's nginx and libnginx-mod-rtmp. The source
file is cached in ${CACHE_DIR}.
`;

interface Settings {
  duration: number;
  warmup: number;
  counts: number[];
  streams: number;
  streamCounts: number[];
  rounds: number;
  servers: ServerKind[];
  cpuProfDir: string | undefined;
}

class UsageError extends Error {}

function readSettings(argv: string[]): Settings {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        duration: { type: 'string' },
        warmup: { type: 'string' },
        counts: { type: 'string' },
        streams: { type: 'string' },
        'stream-counts': { type: 'string' },
        rounds: { type: 'string' },
        servers: { type: 'string' },
        'cpu-prof': { type: 'string' },
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
  const whole = (flag: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number of at least ${min} (got ${JSON.stringify(text)})`);
    return n;
  };
  const duration = whole('--duration', values.duration ?? env.BENCH_DURATION ?? '20', 3);
  const warmup = whole('--warmup', values.warmup ?? env.BENCH_WARMUP ?? '5', 2);
  const list = (flag: string, text: string): number[] => {
    const values = text.trim() === '' ? [] : text.split(',').map((c) => Number(c.trim()));
    if (values.some((n) => !Number.isInteger(n) || n < 0 || n > 100)) {
      throw new UsageError(`${flag} must be whole numbers from 0 to 100, comma-separated (got ${JSON.stringify(text)})`);
    }
    return values;
  };
  const counts = list('--counts', values.counts ?? env.BENCH_COUNTS ?? '0,1,5,10');
  const streams = whole('--streams', values.streams ?? env.BENCH_STREAMS ?? '10', 0);
  const streamCounts = list('--stream-counts', values['stream-counts'] ?? env.BENCH_STREAM_COUNTS ?? '0,2');
  if (streams > 100) throw new UsageError(`--streams must be at most 100 (got ${streams})`);
  if (counts.length === 0 && (streams === 0 || streamCounts.length === 0)) throw new UsageError('nothing to run: --counts and --streams/--stream-counts are all empty');
  const serversText = values.servers ?? env.BENCH_SERVERS ?? SERVER_KINDS.join(',');
  const servers = serversText.split(',').map((s) => s.trim());
  for (const s of servers) {
    if (!(SERVER_KINDS as readonly string[]).includes(s)) throw new UsageError(`--servers takes ${SERVER_KINDS.join(', ')} (got ${JSON.stringify(s)})`);
  }
  return {
    duration,
    warmup,
    counts,
    streams,
    streamCounts,
    rounds: whole('--rounds', values.rounds ?? env.BENCH_ROUNDS ?? '1', 1),
    servers: SERVER_KINDS.filter((k) => servers.includes(k)),
    cpuProfDir: values['cpu-prof'] ?? (env.BENCH_CPU_PROF || undefined),
  };
}

// ---------------------------------------------------------------------------------------
// The sink: `node relay.js --sink` takes RTMP publishes on one port and counts, per publish
// name, the media bytes received and how many times that name was published. It prints its
// port, then answers {type: 'counts'} on the IPC channel.

interface SinkCounts {
  /** Media payload bytes received per publish name. */
  bytes: Record<string, number>;
  /** Publishes per name: more than one means the destination reconnected. */
  publishes: Record<string, number>;
}

async function runSink(): Promise<void> {
  const counts: SinkCounts = { bytes: {}, publishes: {} };
  const quiet = { info() {}, warn() {}, debug() {} };
  const server = new RtmpServer(
    {
      publish: async (request): Promise<PublishSink> => {
        // Destinations differ by application (nginx-rtmp's push appends the stream's own name).
        const name = `${request.app}/${request.name}`;
        counts.publishes[name] = (counts.publishes[name] ?? 0) + 1;
        counts.bytes[name] ??= 0;
        return {
          onMessage: (message) => {
            counts.bytes[name]! += message.payload.length;
          },
          onEnd: () => {},
        };
      },
      play: async () => {
        throw new RtmpRejection('NetStream.Play.StreamNotFound', 'This is a sink.');
      },
    },
    quiet,
  );
  const port = await server.listen(0, '127.0.0.1');
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'counts') process.send!({ type: 'counts', counts });
  });
  process.on('disconnect', () => process.exit(0));
  process.stdout.write(`sink listening on ${port}\n`);
}

interface Sink {
  port: number;
  counts(): Promise<SinkCounts>;
}

// ---------------------------------------------------------------------------------------
// Clean-up: every child process and temp dir is registered as soon as it exists and released
// in reverse order: at the end of each measured run, on error and on Ctrl-C.

// ---------------------------------------------------------------------------------------
// Programs this bench needs.







// ---------------------------------------------------------------------------------------
// Child processes.



/** Starts the sink child for the whole bench. */
async function startSink(): Promise<Sink> {
  const child = spawn(process.execPath, [SELF, '--sink'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  children.add(child);
  cleanups.push({
    what: `sink (pid ${child.pid})`,
    run: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      children.delete(child);
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the sink did not start within 10 s')), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /sink listening on (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`the sink exited (${code})`)));
  });
  return {
    port,
    counts: () =>
      new Promise<SinkCounts>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the sink did not answer within 5 s')), 5000);
        const onMessage = (message: { type?: string; counts?: SinkCounts }) => {
          if (message.type !== 'counts' || !message.counts) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(message.counts);
        };
        child.on('message', onMessage);
        child.send({ type: 'counts' });
      }),
  };
}

interface RunningServer {
  process: ServerProcess;
  /** Where the publisher of each stream sends it. */
  publishUrls: string[];
}

/** streamdelta with one stream per entry of `destinations`, each pushed to the URLs of its entry. */
async function startStreamdelta(dir: string, settings: Settings, destinations: string[][]): Promise<RunningServer> {
  // The destinations are on this machine, which user-given URLs may not reach unless allowed.
  const server = await startStreamdeltaServer(dir, settings.cpuProfDir, ['--allow-private-fetch']);
  const token = await benchAccount(server.http);
  const publishUrls: string[] = [];
  for (const urls of destinations) {
    const { id, streamKey } = await benchStream(server.http, token);
    for (const url of urls) await api(server.http, 'POST', `/streams/${id}/destination`, { token, body: { service: 'RTMP', streamKey: url } });
    publishUrls.push(`${server.rtmp}/${streamKey}`);
  }
  return { process: server.process, publishUrls };
}

/**
 * nginx-rtmp taking `streams` streams (named s1, s2, …) in one application, each pushed to every
 * URL of `destinations`: push URLs without a stream name, to which nginx-rtmp appends each
 * stream's own name.
 */
async function startNginx(dir: string, nginx: NginxInstall, streams: number, destinations: string[], withHls: boolean): Promise<RunningServer> {
  const rtmpPort = await freePort();
  const hls = join(dir, 'hls');
  if (withHls) {
    mkdirSync(hls);
    // A root master runs its worker as an unprivileged user, which writes the fragments.
    chmodSync(dir, 0o755);
    chmodSync(hls, 0o777);
  }
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
${withHls ? `      hls on;\n      hls_path ${quote(hls)};\n      hls_fragment 2s;\n      hls_playlist_length 12s;\n` : ''}${destinations.map((url) => `      push ${url};`).join('\n')}
    }
  }
}
`;
  writeFileSync(config, text);
  const name = withHls ? 'nginx-rtmp-hls' : 'nginx-rtmp';
  const server = spawnServer(name, nginx.binary, ['-g', 'daemon off;', '-c', config, '-p', `${dir}/`, '-e', 'stderr'], childEnv());
  await waitForPorts(server, name, [rtmpPort]);
  return { process: server, publishUrls: Array.from({ length: streams }, (_, i) => `rtmp://127.0.0.1:${rtmpPort}/live/s${i + 1}`) };
}

// ---------------------------------------------------------------------------------------
// One measured run: one server, S streams of K destinations each.

/** S streams at once, each pushed to K destinations. */
interface Shape {
  streams: number;
  k: number;
}

const shapeName = (shape: Shape) => (shape.streams === 1 ? `K=${shape.k}` : `${shape.streams} streams × K=${shape.k}`);
const sameShape = (a: Shape, b: Shape) => a.streams === b.streams && a.k === b.k;

interface Row extends Shape {
  server: ServerKind;
  cpu: number;
  /** The least and the most CPU % over the rounds. */
  cpuRange: [number, number];
  rssMax: number;
  rssMean: number;
  processes: number;
  /** Mbit/s of media each destination received in the window: the least and the mean. */
  deliveredMin: number | undefined;
  deliveredMean: number | undefined;
  publisherCpu: number;
  hostBusy: number;
  problems: string[];
}

interface Tools {
  ffmpeg: string;
  source: string;
  sourceBits: number;
  nginx: NginxInstall | undefined;
  sink: Sink;
}

let runNumber = 0;

async function measure(kind: ServerKind, shape: Shape, settings: Settings, tools: Tools): Promise<Row> {
  const { streams, k } = shape;
  process.stderr.write(
    `bench: ${kind}, ${streams} stream${streams === 1 ? '' : 's'} × ${k} destination${k === 1 ? '' : 's'}: ${settings.warmup} s warm-up, then ${settings.duration} s measured\n`,
  );
  const mark = cleanups.length;
  runNumber++;
  // Destination d of every stream is the sink's application `…-d<d>`; the stream's name (s1, s2, …) follows it.
  const apps = Array.from({ length: k }, (_, d) => `${kind}-r${runNumber}-d${d + 1}`);
  const streamNames = Array.from({ length: streams }, (_, i) => `s${i + 1}`);
  const names = streamNames.flatMap((stream) => apps.map((app) => `${app}/${stream}`));
  try {
    const dir = tempDir(kind);
    const server =
      kind === 'streamdelta'
        ? await startStreamdelta(dir, settings, streamNames.map((stream) => apps.map((app) => `rtmp://127.0.0.1:${tools.sink.port}/${app}/${stream}`)))
        : await startNginx(dir, tools.nginx!, streams, apps.map((app) => `rtmp://127.0.0.1:${tools.sink.port}/${app}`), kind === 'nginx-rtmp-hls');
    const publishers = server.publishUrls.map((url) => startPublisher(tools.ffmpeg, tools.source, url));
    await sleep(settings.warmup * 1000);

    const serverCpu = new CpuMeter();
    const publisherCpu = new CpuMeter();
    let rssMax = 0;
    let rssSum = 0;
    let processes = 0;
    const before = await tools.sink.counts();
    const hostBefore = hostBusyTicks();
    const startedAt = now();
    for (let i = 0; i <= settings.duration; i++) {
      if (i > 0) await sleep(Math.max(0, startedAt + i * SAMPLE_MS - now()));
      const tree = processTree(server.process.pid);
      serverCpu.sample(tree);
      publisherCpu.sample(publishers.map((p) => readStat(p.child.pid ?? -1)).filter((p) => p !== undefined));
      const rss = tree.reduce((sum, p) => sum + rssBytes(p.pid), 0);
      rssMax = Math.max(rssMax, rss);
      rssSum += rss;
      processes = Math.max(processes, tree.length);
    }
    const wall = (now() - startedAt) / 1000;
    const hostBusy = (100 * (hostBusyTicks() - hostBefore)) / CLOCK_TICKS / wall;
    const after = await tools.sink.counts();

    const problems: string[] = [];
    publishers.forEach((p, i) => {
      if (p.exitedEarly) problems.push(`publisher ${i + 1} ${p.exitedEarly}`);
    });
    if (server.process.child.exitCode !== null || server.process.child.signalCode !== null) {
      problems.push(`the server exited during the run; its output:\n${server.process.output().trim()}`);
    }
    const rates = names.map((name) => ((after.bytes[name] ?? 0) - (before.bytes[name] ?? 0)) * 8 / wall / 1e6);
    names.forEach((name, i) => {
      const publishes = after.publishes[name] ?? 0;
      if (publishes !== 1) problems.push(`destination ${name} was published ${publishes} times (reconnects)`);
      if (rates[i]! < (MIN_DELIVERY_SHARE * tools.sourceBits) / 1e6) {
        problems.push(`destination ${name} got ${rates[i]!.toFixed(2)} Mbit/s of media in the window (the source is ${(tools.sourceBits / 1e6).toFixed(2)} Mbit/s)`);
      }
    });
    return {
      server: kind,
      streams,
      k,
      cpu: (100 * serverCpu.seconds()) / wall,
      cpuRange: [(100 * serverCpu.seconds()) / wall, (100 * serverCpu.seconds()) / wall],
      rssMax,
      rssMean: rssSum / (settings.duration + 1),
      processes,
      deliveredMin: rates.length > 0 ? Math.min(...rates) : undefined,
      deliveredMean: rates.length > 0 ? rates.reduce((a, b) => a + b, 0) / rates.length : undefined,
      publisherCpu: (100 * publisherCpu.seconds()) / wall,
      hostBusy,
      problems,
    };
  } finally {
    await unwindTo(mark);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The rounds of one server and K as one row: median CPU, largest RSS, least delivery, every problem. */
function combine(rounds: Row[]): Row {
  const first = rounds[0]!;
  const defined = (values: (number | undefined)[]) => values.filter((v): v is number => v !== undefined);
  const delivered = defined(rounds.map((r) => r.deliveredMin));
  return {
    ...first,
    cpu: median(rounds.map((r) => r.cpu)),
    cpuRange: [Math.min(...rounds.map((r) => r.cpu)), Math.max(...rounds.map((r) => r.cpu))],
    rssMax: Math.max(...rounds.map((r) => r.rssMax)),
    rssMean: median(rounds.map((r) => r.rssMean)),
    deliveredMin: delivered.length > 0 ? Math.min(...delivered) : undefined,
    deliveredMean: delivered.length > 0 ? median(defined(rounds.map((r) => r.deliveredMean))) : undefined,
    publisherCpu: median(rounds.map((r) => r.publisherCpu)),
    hostBusy: median(rounds.map((r) => r.hostBusy)),
    problems: rounds.flatMap((r, i) => r.problems.map((p) => (rounds.length > 1 ? `round ${i + 1}: ${p}` : p))),
  };
}

// ---------------------------------------------------------------------------------------
// Report.

/** The slope of CPU % over K by least squares, or undefined with fewer than two K. */
function slope(rows: Row[]): number | undefined {
  rows = rows.filter((r) => r.streams === 1);
  if (new Set(rows.map((r) => r.k)).size < 2) return undefined;
  const mk = rows.reduce((a, r) => a + r.k, 0) / rows.length;
  const mc = rows.reduce((a, r) => a + r.cpu, 0) / rows.length;
  const num = rows.reduce((a, r) => a + (r.k - mk) * (r.cpu - mc), 0);
  const den = rows.reduce((a, r) => a + (r.k - mk) ** 2, 0);
  return num / den;
}

/** The same server and number of streams with no destination. */
function baselineOf(rows: Row[], of: Row): Row | undefined {
  return rows.find((r) => r.server === of.server && r.streams === of.streams && r.k === 0);
}

function table(rows: Row[], rounds: number): string {
  const header = ['server', 'streams', 'K', rounds > 1 ? `CPU % (median of ${rounds}; range)` : 'CPU %', 'CPU %/destination', 'CPU % above K=0, /destination', 'RSS MiB (max)', 'RSS MiB (mean)', 'procs', 'Mbit/s per destination (min/mean)', 'publisher CPU %', 'host busy %'];
  const right = header.map((_, i) => i > 0);
  const fixed = (v: number | undefined, digits: number) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));
  const body = rows.map((r) => {
    const base = baselineOf(rows, r);
    const destinations = r.streams * r.k;
    return [
      r.server,
      String(r.streams),
      r.k === 0 ? '0 (ingest only)' : String(r.k),
      rounds > 1 ? `${fixed(r.cpu, 2)} (${fixed(r.cpuRange[0], 2)}–${fixed(r.cpuRange[1], 2)})` : fixed(r.cpu, 2),
      r.k === 0 ? '-' : fixed(r.cpu / destinations, 3),
      r.k === 0 || !base ? '-' : fixed((r.cpu - base.cpu) / destinations, 3),
      fixed(r.rssMax / MiB, 1),
      fixed(r.rssMean / MiB, 1),
      String(r.processes),
      r.deliveredMin === undefined ? '-' : `${fixed(r.deliveredMin, 2)}/${fixed(r.deliveredMean, 2)}`,
      fixed(r.publisherCpu, 1),
      fixed(r.hostBusy, 0),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

function goalChecks(rows: Row[], shapes: Shape[]): { lines: string[]; pass: boolean | undefined } {
  const find = (server: ServerKind, shape: Shape) => rows.find((r) => r.server === server && sameShape(r, shape));
  const problems = (...r: Row[]) => (r.some((x) => x.problems.length > 0) ? ' (a run had problems, see below)' : '');
  const lines: string[] = [];
  let pass: boolean | undefined = true;

  const compare = (title: string, peer: ServerKind, metric: (r: Row) => number | undefined, verdict: boolean) => {
    lines.push(title);
    for (const shape of shapes.filter((c) => c.k > 0)) {
      const sd = find('streamdelta', shape);
      const other = find(peer, shape);
      const a = sd && metric(sd);
      const b = other && metric(other);
      if (!sd || !other || a === undefined || b === undefined) {
        lines.push(`  ${shapeName(shape)}: SKIPPED (${!sd ? 'streamdelta' : peer}${!sd || !other ? ' was not run' : ' has no K=0 row'})`);
        if (verdict) pass = undefined;
        continue;
      }
      const ok = a <= CPU_RATIO_GOAL * b;
      if (verdict && !ok && pass !== undefined) pass = false;
      lines.push(`  ${shapeName(shape)}: ${ok ? 'PASS' : 'FAIL'}  streamdelta ${a.toFixed(3)} vs ${peer} ${b.toFixed(3)} %/destination: ${(a / b).toFixed(2)} ×${problems(sd, other)}`);
    }
  };
  const perDestination = (r: Row) => r.cpu / (r.streams * r.k);
  const aboveIngest = (r: Row) => {
    const base = baselineOf(rows, r);
    return base ? (r.cpu - base.cpu) / (r.streams * r.k) : undefined;
  };
  compare(
    `goal: streamdelta's CPU per destination <= ${CPU_RATIO_GOAL} × nginx-rtmp push's, with HLS on as streamdelta always has (CPU % / (streams × K))`,
    'nginx-rtmp-hls',
    perDestination,
    true,
  );
  lines.push(pass === undefined ? 'goal: NOT CHECKED (a server was not run)' : pass ? 'goal: PASS' : 'goal: FAIL');
  lines.push('', 'for reading the goal (no verdict of their own):');
  compare(`  the same against nginx-rtmp pushing without HLS, which does less for each stream than streamdelta records (CPU % / K)`, 'nginx-rtmp', perDestination, false);
  for (const shape of shapes.filter((c) => c.k > 0)) {
    const base = find('streamdelta', { streams: shape.streams, k: 0 });
    const pushOnly = find('nginx-rtmp', shape);
    if (!base || !pushOnly) continue;
    const budget = CPU_RATIO_GOAL * pushOnly.cpu;
    lines.push(
      `    ${shapeName(shape)}: streamdelta with no destination (ingest, HLS, recording) already uses ${base.cpu.toFixed(2)} %, ` +
        `${((base.cpu / budget) * 100).toFixed(0)} % of that reading's whole budget (${CPU_RATIO_GOAL} × ${pushOnly.cpu.toFixed(2)} % = ${budget.toFixed(2)} %)`,
    );
  }
  compare(`  the relays alone: (CPU % − CPU % at K=0) / K, against nginx-rtmp's`, 'nginx-rtmp', aboveIngest, false);
  // The per-row figures above K=0 are at the mercy of the baseline's own noise at small K; a
  // straight line through every K of a server is steadier.
  const slopes = SERVER_KINDS.map((kind) => [kind, slope(rows.filter((r) => r.server === kind))] as const).filter(([, v]) => v !== undefined);
  if (slopes.length > 0) {
    lines.push(`  CPU % added per destination, least-squares line through every K run of one stream: ${slopes.map(([kind, v]) => `${kind} ${v!.toFixed(3)}`).join(', ')}`);
  }
  return { lines, pass };
}

async function main(): Promise<number> {
  const settings = readSettings(process.argv.slice(2));
  installSignalHandlers();
  const ffmpeg = which('ffmpeg');
  if (!ffmpeg) throw new Error('ffmpeg is not on PATH: it makes the source and runs the publisher (apt-get install -y ffmpeg)');
  const source = ensureSource(ffmpeg);
  const rate = sourceRate(source);

  const skipped: string[] = [];
  let nginx: NginxInstall | undefined;
  const servers = settings.servers.filter((kind) => {
    if (kind === 'streamdelta') return true;
    const found = findNginx();
    if (typeof found === 'string') skipped.push(`${kind} skipped: ${found}`);
    else nginx = found;
    return typeof found !== 'string';
  });
  for (const s of skipped) process.stderr.write(`bench: ${s}\n`);
  const sink = await startSink();
  const shapes: Shape[] = [
    ...settings.counts.map((k) => ({ streams: 1, k })),
    ...(settings.streams > 0 ? settings.streamCounts.map((k) => ({ streams: settings.streams, k })) : []),
  ];
  const tools: Tools = { ffmpeg, source, sourceBits: rate.bitsPerSecond, nginx, sink };

  const runs: Row[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    if (settings.rounds > 1) process.stderr.write(`bench: round ${round} of ${settings.rounds}\n`);
    for (const shape of shapes) {
      for (const kind of servers) runs.push(await measure(kind, shape, settings, tools));
    }
  }
  const rows = shapes.flatMap((shape) => servers.map((kind) => combine(runs.filter((r) => r.server === kind && sameShape(r, shape)))));

  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const versions = [`node ${process.version}`, firstLine(ffmpeg, ['-version']).replace(/ Copyright.*/, ''), ...(nginx ? [`${nginx.version} + rtmp module`] : [])];
  const out: string[] = [
    '',
    `streamdelta relay bench: ${cpus().length} × ${cpu}; ${versions.join(', ')}`,
    `source: ${rate.description}, ${SOURCE_SECONDS} s looped; publisher: ffmpeg -re -stream_loop -1 -c copy -f flv; ` +
      `receivers: one RTMP sink process counting each destination's media bytes`,
    `${settings.warmup} s warm-up, then ${settings.duration} s measured per row${settings.rounds > 1 ? `; ${settings.rounds} rounds, every row once per round, medians shown` : ''}`,
    '',
    table(rows, settings.rounds),
    '',
    "CPU %: time on CPU of every thread of the server's process tree over the measured seconds (schedstat, ns), 100 % = one core",
    '  (streamdelta: one node process, which always records HLS of the ingest; nginx-rtmp: master + worker, push only;',
    '  nginx-rtmp-hls: the same with hls on, 2 s fragments).',
    'CPU %/destination: CPU % / (streams × K). Above K=0: (CPU % − the same server and streams with no destination) / (streams × K),',
    '  the cost of the relays alone.',
    "RSS: the sum of the tree's resident sets, sampled once a second. Mbit/s per destination: media bytes (audio, video, data",
    "  payloads) the sink got from each destination over the window; the source's overall rate includes FLV framing.",
    `publisher CPU % / host busy %: the ffmpeg publishers, and the whole machine (100 % per core). This machine has ${cpus().length} cores;`,
    '  the sink and this bench run on it too.',
  ];
  if (settings.cpuProfDir) out.push(`CPU profiles of the streamdelta servers are in ${settings.cpuProfDir}; profiling slows them down.`);
  out.push(...skipped);
  const goal = goalChecks(rows, shapes);
  out.push('', ...goal.lines);

  let ok = true;
  for (const r of rows) {
    for (const p of r.problems) {
      ok = false;
      out.push(`PROBLEM: ${r.server} ${shapeName(r)}: ${p}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return ok ? 0 : 1;
}

if (process.argv[2] === '--sink') {
  await runSink();
} else {
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
