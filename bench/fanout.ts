/**
 * RTMP fan-out bench: one 2.5 Mbit/s publisher watched by N RTMP viewers (50 by default),
 * streamdelta next to nginx-rtmp (`live on`) in one run.
 *
 *   npm run bench:fanout [-- --viewers 50 --duration 20 --warmup 5]
 *
 * Publisher: `ffmpeg -re -stream_loop -1 -i source.flv -c copy -f flv rtmp://…` of the media
 * bench's cached 720p30 H.264 + AAC source. Viewers: one load process (this file run with
 * --load) that opens every RTMP play connection itself (handshake, connect, createStream, play,
 * acknowledgements as the server's window asks) and counts the media bytes each viewer
 * receives, so N viewers cost the machine one process, not N ffmpeg players.
 *
 * For each server: a fresh server, the publisher, then the viewers join; after --warmup
 * seconds, --duration seconds are measured: the server's process tree is sampled each second
 * (CPU from /proc schedstat, RSS), and each viewer's byte count is read at both ends, so the
 * bench checks that every viewer got the stream in real time during the window.
 *
 * Goal of the issue: streamdelta's CPU <= 1.5 × nginx-rtmp's. Benches are never run by tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ChunkDecoder, ChunkEncoder } from '../src/media/wire/rtmp/chunks.js';
import { commandMessage, decodeCommand } from '../src/media/wire/rtmp/commands.js';
import { clientHandshakeC0C1, HANDSHAKE_SIZE } from '../src/media/wire/rtmp/handshake.js';
import { controlMessages, MessageType, UserControlEvent, type RtmpMessage } from '../src/media/wire/rtmp/messages.js';
import {
  CACHE_DIR,
  CLOCK_TICKS,
  MiB,
  SOURCE_SECONDS,
  benchAccount,
  benchStream,
  children,
  childEnv,
  cleanups,
  CpuMeter,
  ensureSource,
  findNginx,
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
  sourceRate,
  spawnServer,
  startPublisher,
  startStreamdeltaServer,
  tempDir,
  unwindTo,
  waitForPorts,
  which,
  type NginxInstall,
  type ServerProcess,
} from './support.js';

const SELF = fileURLToPath(import.meta.url);
const SAMPLE_MS = 1000;
const CPU_RATIO_GOAL = 1.5;
/** A viewer that got less than this share of the source's rate in the window was not keeping up. */
const MIN_DELIVERY_SHARE = 0.9;
const SERVER_KINDS = ['streamdelta', 'nginx-rtmp'] as const;
type ServerKind = (typeof SERVER_KINDS)[number];

const USAGE = `Usage: npm run bench:fanout [-- options]

  --viewers N     BENCH_VIEWERS    RTMP viewers of the one stream (default 50)
  --duration SEC  BENCH_DURATION   measured seconds per server (default 20)
  --warmup SEC    BENCH_WARMUP     seconds after the viewers joined, not measured (default 5)
  --servers LIST  BENCH_SERVERS    which servers to run (default ${SERVER_KINDS.join(',')})
  --cpu-prof DIR  BENCH_CPU_PROF   run streamdelta with node --cpu-prof, profiles in DIR

Needs ffmpeg; the nginx-rtmp row needs Debian's nginx and libnginx-mod-rtmp. The source is
cached in ${CACHE_DIR}.
`;

class UsageError extends Error {}

interface Settings {
  viewers: number;
  duration: number;
  warmup: number;
  servers: ServerKind[];
  cpuProfDir: string | undefined;
}

function readSettings(argv: string[]): Settings {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        viewers: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        servers: { type: 'string' },
        'cpu-prof': { type: 'string' },
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
    viewers: whole('--viewers', values.viewers ?? env.BENCH_VIEWERS ?? '50', 1, 2000),
    duration: whole('--duration', values.duration ?? env.BENCH_DURATION ?? '20', 3, 3600),
    warmup: whole('--warmup', values.warmup ?? env.BENCH_WARMUP ?? '5', 2, 600),
    servers: SERVER_KINDS.filter((k) => servers.includes(k)),
    cpuProfDir: values['cpu-prof'] ?? (env.BENCH_CPU_PROF || undefined),
  };
}

// ---------------------------------------------------------------------------------------
// The load: `node fanout.js --load URL N` plays URL N times over RTMP and counts the media
// bytes of each play. It answers {type: 'counts'} on the IPC channel with the bytes per viewer
// and the viewers that failed (with why).

interface LoadCounts {
  bytes: number[];
  playing: number;
  failures: string[];
}

/** One RTMP play: handshake, connect, createStream, play, then media counted until the end. */
function play(url: URL, onMedia: (bytes: number) => void, onPlaying: () => void, onFail: (why: string) => void): void {
  const [app, ...rest] = url.pathname.slice(1).split('/');
  const name = rest.join('/');
  const socket = tcpConnect({ host: url.hostname, port: Number(url.port || 1935) });
  socket.setNoDelay(true);
  const decoder = new ChunkDecoder();
  const encoder = new ChunkEncoder();
  const send = (message: RtmpMessage) => socket.write(encoder.encode(message));
  let handshake: Buffer | undefined = Buffer.alloc(0);
  let windowAckSize = 0;
  let lastAck = 0;
  let streamId = 0;
  let failed = false;
  const fail = (why: string) => {
    if (failed) return;
    failed = true;
    onFail(why);
    socket.destroy();
  };
  socket.on('connect', () => socket.write(clientHandshakeC0C1(false)));
  socket.on('error', (err) => fail(err.message));
  socket.on('close', () => fail('the server closed the connection'));
  socket.on('data', (data: Buffer) => {
    try {
      if (handshake) {
        handshake = Buffer.concat([handshake, data]);
        if (handshake.length < 1 + 2 * HANDSHAKE_SIZE) return;
        socket.write(handshake.subarray(1, 1 + HANDSHAKE_SIZE));
        data = handshake.subarray(1 + 2 * HANDSHAKE_SIZE);
        handshake = undefined;
        send(controlMessages.setChunkSize(4096));
        encoder.setChunkSize(4096);
        send(commandMessage(0, 'connect', 1, { app, flashVer: 'LNX 9,0,124,2', tcUrl: `rtmp://${url.host}/${app}`, fpad: false, capabilities: 15, audioCodecs: 4071, videoCodecs: 252, videoFunction: 1 }));
        if (data.length === 0) return;
      }
      for (const message of decoder.push(data)) {
        if (message.type === MessageType.Audio || message.type === MessageType.Video) {
          onMedia(message.payload.length);
        } else if (message.type === MessageType.WindowAckSize && message.payload.length >= 4) {
          windowAckSize = message.payload.readUInt32BE(0);
        } else if (message.type === MessageType.UserControl && message.payload.length >= 6 && message.payload.readUInt16BE(0) === UserControlEvent.PingRequest) {
          send(controlMessages.userControl(UserControlEvent.PingResponse, message.payload.readUInt32BE(2)));
        } else if (message.type === MessageType.CommandAmf0) {
          const cmd = decodeCommand(message);
          if (cmd.name === '_result' && cmd.transactionId === 1) {
            send(commandMessage(0, 'createStream', 2, null));
          } else if (cmd.name === '_result' && cmd.transactionId === 2) {
            streamId = typeof cmd.args[0] === 'number' ? cmd.args[0] : 1;
            send({ ...commandMessage(streamId, 'play', 0, null, name, -1000), chunkStreamId: 8 });
            // What players ask for: the server may send ahead this much (ms).
            const buffer = Buffer.alloc(10);
            buffer.writeUInt16BE(UserControlEvent.SetBufferLength, 0);
            buffer.writeUInt32BE(streamId, 2);
            buffer.writeUInt32BE(3000, 6);
            send({ chunkStreamId: 2, timestamp: 0, type: MessageType.UserControl, streamId: 0, payload: buffer });
          } else if (cmd.name === '_error') {
            fail(`${cmd.name} to transaction ${cmd.transactionId}`);
          } else if (cmd.name === 'onStatus') {
            const info = (cmd.args[0] ?? {}) as { level?: unknown; code?: unknown };
            if (info.level === 'error') fail(`onStatus ${String(info.code)}`);
            else if (info.code === 'NetStream.Play.Start') onPlaying();
          }
        }
      }
      if (windowAckSize > 0 && decoder.bytesReceived - lastAck >= windowAckSize) {
        lastAck = decoder.bytesReceived;
        send(controlMessages.acknowledgement(decoder.bytesReceived % 2 ** 32));
      }
    } catch (err) {
      fail(`protocol error: ${(err as Error).message}`);
    }
  });
}

function runLoad(urlText: string, viewers: number): void {
  const url = new URL(urlText);
  const counts: LoadCounts = { bytes: new Array<number>(viewers).fill(0), playing: 0, failures: [] };
  for (let i = 0; i < viewers; i++) {
    play(
      url,
      (bytes) => (counts.bytes[i]! += bytes),
      () => counts.playing++,
      (why) => counts.failures.push(`viewer ${i + 1}: ${why}`),
    );
  }
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'counts') process.send!({ type: 'counts', counts });
  });
  process.on('disconnect', () => process.exit(0));
}

interface Load {
  counts(): Promise<LoadCounts>;
  child: ChildProcess;
}

function startLoad(url: string, viewers: number): Load {
  const child = spawn(process.execPath, [SELF, '--load', url, String(viewers)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  cleanups.push({
    what: `viewer load (pid ${child.pid})`,
    run: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      children.delete(child);
    },
  });
  return {
    child,
    counts: () =>
      new Promise<LoadCounts>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the viewer load did not answer within 5 s')), 5000);
        const onMessage = (message: { type?: string; counts?: LoadCounts }) => {
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

// ---------------------------------------------------------------------------------------
// Servers.

interface RunningServer {
  process: ServerProcess;
  publishUrl: string;
  playUrl: string;
}

async function startStreamdelta(dir: string, settings: Settings): Promise<RunningServer> {
  const server = await startStreamdeltaServer(dir, settings.cpuProfDir, ['--rtmp-max-connections-per-ip', '0']);
  const token = await benchAccount(server.http);
  const { id, streamKey } = await benchStream(server.http, token);
  return { process: server.process, publishUrl: `${server.rtmp}/${streamKey}`, playUrl: `${server.rtmp}/${id}` };
}

async function startNginx(dir: string, nginx: NginxInstall): Promise<RunningServer> {
  const rtmpPort = await freePort();
  const config = join(dir, 'nginx.conf');
  writeFileSync(
    config,
    `${nginx.loadModule}
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
    }
  }
}
`,
  );
  const server = spawnServer('nginx-rtmp', nginx.binary, ['-g', 'daemon off;', '-c', config, '-p', `${dir}/`, '-e', 'stderr'], childEnv());
  await waitForPorts(server, 'nginx-rtmp', [rtmpPort]);
  const url = `rtmp://127.0.0.1:${rtmpPort}/live/bench`;
  return { process: server, publishUrl: url, playUrl: url };
}

// ---------------------------------------------------------------------------------------
// One measured run.

interface Row {
  server: ServerKind;
  cpu: number;
  rssMax: number;
  /** Mbit/s of media per viewer in the window: least and mean. */
  deliveredMin: number;
  deliveredMean: number;
  loadCpu: number;
  hostBusy: number;
  problems: string[];
}

async function measure(kind: ServerKind, settings: Settings, tools: { ffmpeg: string; source: string; sourceBits: number; nginx: NginxInstall | undefined }): Promise<Row> {
  process.stderr.write(`bench: ${kind}, ${settings.viewers} viewers: ${settings.warmup} s warm-up, then ${settings.duration} s measured\n`);
  const mark = cleanups.length;
  try {
    const dir = tempDir(kind, 'fanout');
    const server = kind === 'streamdelta' ? await startStreamdelta(dir, settings) : await startNginx(dir, tools.nginx!);
    const publisher = startPublisher(tools.ffmpeg, tools.source, server.publishUrl);
    // The viewers join once the stream is on (a viewer of a stream not live is refused).
    await sleep(2000);
    const load = startLoad(server.playUrl, settings.viewers);
    await sleep(settings.warmup * 1000);

    const serverCpu = new CpuMeter();
    const loadCpu = new CpuMeter();
    let rssMax = 0;
    const before = await load.counts();
    const hostBefore = hostBusyTicks();
    const startedAt = now();
    for (let i = 0; i <= settings.duration; i++) {
      if (i > 0) await sleep(Math.max(0, startedAt + i * SAMPLE_MS - now()));
      const tree = processTree(server.process.pid);
      serverCpu.sample(tree);
      const l = readStat(load.child.pid ?? -1);
      if (l) loadCpu.sample([l]);
      rssMax = Math.max(rssMax, tree.reduce((sum, p) => sum + rssBytes(p.pid), 0));
    }
    const wall = (now() - startedAt) / 1000;
    const hostBusy = (100 * (hostBusyTicks() - hostBefore)) / CLOCK_TICKS / wall;
    const after = await load.counts();

    const problems: string[] = [...after.failures];
    if (publisher.exitedEarly) problems.push(`the publisher ${publisher.exitedEarly}`);
    if (server.process.child.exitCode !== null || server.process.child.signalCode !== null) problems.push(`the server exited; its output:\n${server.process.output().trim()}`);
    if (after.playing < settings.viewers) problems.push(`${settings.viewers - after.playing} of ${settings.viewers} viewers never started playing`);
    const rates = after.bytes.map((b, i) => ((b - (before.bytes[i] ?? 0)) * 8) / wall / 1e6);
    const slow = rates.filter((r) => r < (MIN_DELIVERY_SHARE * tools.sourceBits) / 1e6).length;
    if (slow > 0) problems.push(`${slow} viewers got less than ${MIN_DELIVERY_SHARE * 100} % of the source's rate in the window (least ${Math.min(...rates).toFixed(2)} Mbit/s)`);
    return {
      server: kind,
      cpu: (100 * serverCpu.seconds()) / wall,
      rssMax,
      deliveredMin: Math.min(...rates),
      deliveredMean: rates.reduce((a, b) => a + b, 0) / rates.length,
      loadCpu: (100 * loadCpu.seconds()) / wall,
      hostBusy,
      problems,
    };
  } finally {
    await unwindTo(mark);
  }
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

  const rows: Row[] = [];
  for (const kind of servers) rows.push(await measure(kind, settings, { ffmpeg, source, sourceBits: rate.bitsPerSecond, nginx }));

  const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
  const peer = rows.find((r) => r.server === 'nginx-rtmp');
  const verdict = (r: Row) => {
    if (r.server !== 'streamdelta') return 'peer';
    if (!peer) return 'NOT CHECKED';
    const ok = r.cpu <= CPU_RATIO_GOAL * peer.cpu && r.problems.length === 0 && peer.problems.length === 0;
    return `${ok ? 'PASS' : 'FAIL'} (${fixed(r.cpu / peer.cpu, 2)} ×)`;
  };
  const versions = [`node ${process.version}`, firstLine(ffmpeg, ['-version']).replace(/ Copyright.*/, ''), ...(nginx ? [`${nginx.version} + rtmp module`] : [])];
  const out = [
    '',
    `streamdelta RTMP fan-out bench: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}; ${versions.join(', ')}`,
    `source: ${rate.description}, ${SOURCE_SECONDS} s looped; 1 publisher (ffmpeg -re -stream_loop -1 -c copy), ${settings.viewers} RTMP viewers from one load process`,
    `${settings.warmup} s warm-up after the viewers joined, then ${settings.duration} s measured`,
    '',
    renderTable(
      ['server', 'viewers', 'CPU %', 'RSS MiB (max)', 'Mbit/s per viewer (min/mean)', 'load CPU %', 'host busy %', `goal: CPU <= ${CPU_RATIO_GOAL} × nginx-rtmp`],
      rows.map((r) => [
        r.server,
        String(settings.viewers),
        fixed(r.cpu, 2),
        fixed(r.rssMax / MiB, 1),
        `${fixed(r.deliveredMin, 2)}/${fixed(r.deliveredMean, 2)}`,
        fixed(r.loadCpu, 1),
        fixed(r.hostBusy, 0),
        verdict(r),
      ]),
    ),
    '',
    "CPU %: time on CPU of every thread of the server's process tree over the window (schedstat), 100 % = one core; it includes",
    '  the ingest (streamdelta also records HLS of it, as it always does; nginx-rtmp only takes it).',
    "Mbit/s per viewer: media payload bytes each viewer received in the window; a viewer under 90 % of the source's rate is a problem.",
    ...skipped,
  ];
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

if (process.argv[2] === '--load') {
  runLoad(process.argv[3] ?? '', Number(process.argv[4] ?? '1'));
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
