/**
 * API bench: requests/s and latency of the hot reads of the rig API and the live (Mux) API, on
 * SQLite and PostgreSQL, next to a bare `node:http` server answering a fixed JSON body, measured
 * in the same run (and a bare Fastify server, for reference: what the framework alone costs).
 *
 *   npm run bench:api [-- --duration 10 --warmup 2 --connections 50]
 *
 * Each server runs as its own child process (one Node process: one core for the server),
 * autocannon runs in this process. PostgreSQL rows are added when BENCH_DATABASE_URL or
 * TEST_DATABASE_URL is set; they run in a fresh schema that is dropped afterwards.
 *
 * Targets (issue 17), as a share of the bare node:http server's requests/s, on SQLite:
 *   rig GET /agents/config/{key}                   >= 25 % and >= 10,000 requests/s
 *   rig GET /streams/{id} with a JWT               >= 15 %
 *   Mux GET /video/v1/live-streams/{id}, Basic     >= 15 %
 * PostgreSQL rows are shown beside them, without a target.
 *
 * Benches are never run by CI or tests: the numbers depend on the machine.
 */
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';

/** What a row must reach: a share of the bare node:http server's requests/s, and a floor. */
interface Goal {
  /** Percent of the bare node:http server's requests/s. */
  percentOfNode: number;
  /** Requests/s it must reach whatever the peer does, if any. */
  floor?: number;
}

const GOALS = {
  agentConfig: { percentOfNode: 25, floor: 10_000 },
  streamDetail: { percentOfNode: 15 },
  muxLiveStream: { percentOfNode: 15 },
} satisfies Record<string, Goal>;

// This file runs as dist/bench/api.js; the CLI is bin/streamdelta.js at the repository root.
const CLI = fileURLToPath(new URL('../../bin/streamdelta.js', import.meta.url));
const BASELINE = fileURLToPath(new URL('./baseline-server.js', import.meta.url));

const USAGE = `Usage: npm run bench:api [-- options]

Options (each also read from its environment variable):
  --duration SEC      BENCH_DURATION      measured seconds per target (default 10)
  --warmup SEC        BENCH_WARMUP        warm-up seconds per target, not measured (default 2)
  --connections N     BENCH_CONNECTIONS   concurrent connections, pipelining 1 (default 50)
  --cpu-prof DIR      BENCH_CPU_PROF      run the streamdelta servers with node --cpu-prof,
                                          writing .cpuprofile files to DIR (slows them down)
  --only TEXT         BENCH_ONLY          measure only the streamdelta rows whose name contains
                                          TEXT (the peers are always measured)

PostgreSQL rows run when BENCH_DATABASE_URL or TEST_DATABASE_URL is set (postgres://…).
`;

interface Settings {
  duration: number;
  warmup: number;
  connections: number;
  cpuProfDir: string | undefined;
  only: string | undefined;
  postgresUrl: string | undefined;
}

class UsageError extends Error {}

function readSettings(): Settings {
  let values;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      options: {
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string' },
        'cpu-prof': { type: 'string' },
        only: { type: 'string' },
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
  const number = (flag: string, value: string | undefined, fallback: number, min: number): number => {
    if (value === undefined || value === '') return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number of at least ${min} (got ${JSON.stringify(value)})`);
    return n;
  };
  const env = process.env;
  const postgresUrl = env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || undefined;
  if (postgresUrl !== undefined && !/^postgres(ql)?:\/\//.test(postgresUrl)) {
    throw new UsageError('BENCH_DATABASE_URL / TEST_DATABASE_URL must be a postgres:// URL');
  }
  return {
    duration: number('--duration', values.duration ?? env.BENCH_DURATION, 10, 1),
    warmup: number('--warmup', values.warmup ?? env.BENCH_WARMUP, 2, 0),
    connections: number('--connections', values.connections ?? env.BENCH_CONNECTIONS, 50, 1),
    cpuProfDir: values['cpu-prof'] ?? (env.BENCH_CPU_PROF || undefined),
    only: values.only ?? (env.BENCH_ONLY || undefined),
    postgresUrl,
  };
}

// ---------------------------------------------------------------------------------------
// Clean-up: every child process, temp dir and schema is registered as soon as it exists and
// released in reverse order, on success, on error and on Ctrl-C.

const cleanups: { what: string; run: () => Promise<void> | void }[] = [];
const children = new Set<ChildProcess>();
let currentRun: autocannon.Instance | undefined;

let cleaning: Promise<void> | undefined;

/** Releases everything registered, once, however many callers (the main path, a signal) ask. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (let c = cleanups.pop(); c; c = cleanups.pop()) {
      try {
        await c.run();
      } catch (err) {
        process.stderr.write(`bench: could not clean up ${c.what}: ${(err as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}

// Last resort if the process exits before cleanUp ran: no server outlives the bench.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
    currentRun?.stop();
    cleanUp().finally(() => process.exit(130));
  });
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamdelta-bench-'));
  cleanups.push({ what: `temp dir ${dir}`, run: () => rmSync(dir, { recursive: true, force: true }) });
  return dir;
}

// ---------------------------------------------------------------------------------------
// Child processes.

interface Server {
  name: string;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** A streamdelta server and the settings the CLI needs to work on its database. */
interface Streamdelta extends Server {
  cliArgs: string[];
}

/** The environment of a server child: none of the parent's streamdelta settings leak in. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('STREAMDELTA_') || name === 'DATABASE_URL' || name === 'REDIS_URL' || name.startsWith('BENCH_')) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** Spawns `node args…` and resolves once it prints a line matching `ready` (whose group 1 is its URL). */
function startServer(name: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Server> {
  if (interrupted) return Promise.reject(new Error('interrupted'));
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      children.delete(child);
      resolve();
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  cleanups.push({ what: `${name} (pid ${child.pid})`, run: stop });

  return new Promise<Server>((resolve, reject) => {
    let line = '';
    let settled = false;
    const timer = setTimeout(() => fail('did not start within 60 s'), 60_000);
    function fail(why: string) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${name} ${why}; its output:\n${output.trim()}`));
    }
    child.once('error', (err) => fail(`could not be started: ${err.message}`));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? `status ${code}`})`));
    child.stderr!.on('data', keep);
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (settled) return;
      line += chunk.toString('utf8');
      const match = ready.exec(line);
      if (match) {
        settled = true;
        clearTimeout(timer);
        resolve({ name, pid: child.pid!, url: match[1]!, stop });
      }
    });
  });
}

async function startStreamdelta(database: string, settings: Settings, databaseUrl?: string): Promise<Streamdelta> {
  const dataDir = tempDir();
  const nodeArgs = settings.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', settings.cpuProfDir] : [];
  const cliArgs = ['--data-dir', dataDir, '--database-url', databaseUrl ?? `sqlite:${join(dataDir, 'streamdelta.db')}`];
  const server = await startServer(
    `streamdelta on ${database}`,
    [
      ...nodeArgs,
      CLI,
      'serve',
      '--http-host',
      '127.0.0.1',
      '--http-port',
      '0',
      '--rtmp-port',
      '0',
      ...cliArgs,
      '--log-level',
      'warn',
    ],
    childEnv(),
    /streamdelta listening on (http:\/\/\S+)/,
  );
  return { ...server, cliArgs };
}

function startBaseline(kind: 'node' | 'fastify', body: string): Promise<Server> {
  return startServer(
    kind === 'node' ? 'bare node:http' : 'bare Fastify',
    [BASELINE],
    childEnv({ BENCH_BASELINE_BODY: body, BENCH_BASELINE_KIND: kind }),
    /baseline listening on (http:\/\/\S+)/,
  );
}

/** Runs the streamdelta CLI on the server's database and returns what it printed as JSON. */
function cliJson(server: Streamdelta, args: string[]): any {
  const out = spawnSync(process.execPath, [CLI, ...server.cliArgs, ...args], { env: childEnv(), encoding: 'utf8', timeout: 60_000 });
  if (out.status !== 0) throw new Error(`streamdelta ${args[0]} ${args[1] ?? ''} failed (${out.status ?? out.signal}): ${out.stderr.trim()}`);
  return JSON.parse(out.stdout);
}

/** A fresh PostgreSQL schema, dropped at clean-up, and the URL that puts the server in it. */
async function freshSchema(base: string): Promise<string> {
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create schema ${schema}`);
  } finally {
    await admin.end();
  }
  cleanups.push({
    what: `PostgreSQL schema ${schema}`,
    run: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await client.end();
      }
    },
  });
  return `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

// ---------------------------------------------------------------------------------------
// Setting up the data through the API, as a user would.

interface Fixture {
  token: string;
  streamId: string;
  streamKey: string;
  /** The exact body of GET /agents/config/{key}. */
  agentConfigBody: string;
  /** `Basic …` of a live API access token made with the CLI. */
  muxAuthorization: string;
  muxLiveStreamId: string;
}

interface CallOptions {
  body?: unknown;
  token?: string;
  /** A whole Authorization header. */
  authorization?: string;
}

async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<{ status: number; text: string; json: any }> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

async function expectOk(base: string, method: string, path: string, options: CallOptions = {}, status = 200) {
  const reply = await call(base, method, path, options);
  if (reply.status !== status) throw new Error(`${method} ${path.replace(/\/agents\/config\/.*/, '/agents/config/…')} answered ${reply.status}: ${reply.text}`);
  return reply;
}

async function setUp(server: Streamdelta): Promise<Fixture> {
  const base = server.url;
  const username = 'bench';
  const password = 'bench-password-0123';
  await expectOk(base, 'POST', '/accounts/', { body: { username, password, email: 'bench@example.com' } });
  const login = await expectOk(base, 'POST', '/accounts/auth/local', { body: { username, password } });
  const token = login.json.payload.token as string;
  const stream = await expectOk(base, 'POST', '/streams/', { token });
  const streamId = stream.json.payload.id as string;
  const streamKey = stream.json.payload.streamKey as string;
  await expectOk(base, 'POST', `/streams/${streamId}/destination`, { token, body: { service: 'YouTube', streamKey: 'abcd-efgh-ijkl-mnop-qrst' } });
  await expectOk(base, 'POST', `/streams/${streamId}/destination`, { token, body: { service: 'Twitch', streamKey: 'live_123456789_AbCdEfGhIjKlMnOpQrStUvWxYz0123' } });
  const config = await expectOk(base, 'GET', `/agents/config/${streamKey}`);
  const detail = await expectOk(base, 'GET', `/streams/${streamId}`, { token });
  if (config.json?.payload?.length !== 2 || detail.json?.payload?.destinations?.length !== 2) {
    throw new Error(`set-up went wrong: expected 2 destinations, got ${config.text} and ${detail.text}`);
  }
  // The live API: an access token made as an operator makes one, and a live stream made with it.
  const issued = cliJson(server, ['access-token', 'create', '--user', username, '--json']);
  const muxAuthorization = `Basic ${Buffer.from(`${issued.id}:${issued.secret}`).toString('base64')}`;
  const live = await expectOk(base, 'POST', '/video/v1/live-streams', { authorization: muxAuthorization, body: { playback_policy: ['public'], new_asset_settings: { playback_policy: ['public'] } } }, 201);
  const muxLiveStreamId = live.json?.data?.id as string;
  await expectOk(base, 'GET', `/video/v1/live-streams/${muxLiveStreamId}`, { authorization: muxAuthorization });
  return { token, streamId, streamKey, agentConfigBody: config.text, muxAuthorization, muxLiveStreamId };
}

// ---------------------------------------------------------------------------------------
// Measuring.

interface Target {
  label: string;
  database: string;
  server: Server;
  path: string;
  headers?: Record<string, string>;
  goal?: Goal;
}

interface Row {
  target: string;
  database: string;
  goal: Goal | undefined;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  statusCodes: Record<string, { count: number }>;
  /** Of one core; undefined where /proc is not there to read. */
  serverCpu: number | undefined;
  benchCpu: number;
  /** What every other process used meanwhile (PostgreSQL, other work on the machine), of one core. */
  otherCpu: number | undefined;
}

const CLOCK_TICKS_PER_SECOND = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(out.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** CPU time the whole machine has used (all cores, user + system + irq), in seconds; undefined off Linux. */
function machineCpuSeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu  user nice system idle iowait irq softirq steal …
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system, all threads) a process has used, in seconds; undefined off Linux. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces:
    // state is field 3, utime field 14, stime field 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

async function run(target: Target, duration: number, connections: number): Promise<autocannon.Result> {
  if (interrupted) throw new Error('interrupted');
  currentRun = autocannon({
    url: `${target.server.url}${target.path}`,
    connections,
    pipelining: 1,
    duration,
    ...(target.headers ? { headers: target.headers } : {}),
  });
  try {
    return await currentRun;
  } finally {
    currentRun = undefined;
  }
}

async function measure(target: Target, settings: Settings): Promise<Row> {
  process.stderr.write(`bench: ${target.label} on ${target.database}: ${settings.warmup} s warm-up, ${settings.duration} s measured\n`);
  if (settings.warmup > 0) await run(target, settings.warmup, settings.connections);
  const serverBefore = cpuSeconds(target.server.pid);
  const machineBefore = machineCpuSeconds();
  const benchBefore = process.cpuUsage();
  const started = performance.now();
  const result = await run(target, settings.duration, settings.connections);
  const wall = (performance.now() - started) / 1000;
  const serverAfter = cpuSeconds(target.server.pid);
  const machineAfter = machineCpuSeconds();
  const bench = process.cpuUsage(benchBefore);
  const benchCpu = (100 * (bench.user + bench.system)) / 1e6 / wall;
  const serverCpu = serverBefore !== undefined && serverAfter !== undefined ? (100 * (serverAfter - serverBefore)) / wall : undefined;
  const machineCpu = machineBefore !== undefined && machineAfter !== undefined ? (100 * (machineAfter - machineBefore)) / wall : undefined;
  return {
    target: target.label,
    database: target.database,
    goal: target.goal,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    statusCodes: result.statusCodeStats,
    serverCpu,
    benchCpu,
    otherCpu: machineCpu !== undefined && serverCpu !== undefined ? Math.max(0, machineCpu - serverCpu - benchCpu) : undefined,
  };
}

// ---------------------------------------------------------------------------------------
// Report.

/** The goal as the table shows it. */
function goalText(goal: Goal | undefined): string {
  if (!goal) return '-';
  return `>= ${goal.percentOfNode} %${goal.floor ? ` and >= ${goal.floor.toLocaleString('en-US')}/s` : ''}`;
}

/** Whether the row met its goal against the bare node:http server's requests/s; undefined without a goal. */
function verdict(row: Row, nodeRps: number): boolean | undefined {
  if (!row.goal) return undefined;
  if (row.errors > 0 || row.non2xx > 0) return false;
  return (100 * row.requestsPerSecond) / nodeRps >= row.goal.percentOfNode && row.requestsPerSecond >= (row.goal.floor ?? 0);
}

function table(rows: Row[], nodeRps: number): string {
  const header = ['row', 'database', 'requests/s', 'p50 ms', 'p99 ms', '% of bare node', 'target', 'result', 'errors/non-2xx', 'server CPU', 'bench CPU', 'other CPU'];
  const right = [false, false, true, true, true, true, false, false, true, true, true, true];
  const body = rows.map((r) => {
    const met = verdict(r, nodeRps);
    return [
      r.target,
      r.database,
      Math.round(r.requestsPerSecond).toLocaleString('en-US'),
      r.p50.toFixed(0),
      r.p99.toFixed(0),
      `${((100 * r.requestsPerSecond) / nodeRps).toFixed(1)} %`,
      goalText(r.goal),
      met === undefined ? '-' : met ? 'PASS' : 'FAIL',
      `${r.errors}/${r.non2xx}`,
      r.serverCpu === undefined ? 'n/a' : `${Math.round(r.serverCpu)} %`,
      `${Math.round(r.benchCpu)} %`,
      r.otherCpu === undefined ? 'n/a' : `${Math.round(r.otherCpu)} %`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

async function main(): Promise<number> {
  const settings = readSettings();
  const rows: Row[] = [];

  // Targets apply to the SQLite rows (the issue's measures); PostgreSQL rows are shown beside them.
  const benchTargets = (database: string, server: Server, fixture: Fixture): Target[] => {
    const goal = (g: Goal) => (database === 'sqlite' ? { goal: g } : {});
    const all: Target[] = [
      { label: 'rig GET /agents/config/{key}', database, server, path: `/agents/config/${fixture.streamKey}`, ...goal(GOALS.agentConfig) },
      {
        label: 'rig GET /streams/{id} (JWT)',
        database,
        server,
        path: `/streams/${fixture.streamId}`,
        headers: { authorization: `Bearer ${fixture.token}` },
        ...goal(GOALS.streamDetail),
      },
      {
        label: 'Mux GET /video/v1/live-streams/{id} (Basic)',
        database,
        server,
        path: `/video/v1/live-streams/${fixture.muxLiveStreamId}`,
        headers: { authorization: fixture.muxAuthorization },
        ...goal(GOALS.muxLiveStream),
      },
    ];
    return settings.only === undefined ? all : all.filter((t) => t.label.includes(settings.only!));
  };

  // SQLite, and the peers serving the body SQLite's server answered the agent config lookup with.
  const sqlite = await startStreamdelta('sqlite', settings);
  const sqliteFixture = await setUp(sqlite);
  const peerPath = `/agents/config/${sqliteFixture.streamKey}`;
  const peerRows: Row[] = [];
  for (const kind of ['node', 'fastify'] as const) {
    const peer = await startBaseline(kind, sqliteFixture.agentConfigBody);
    const answer = await call(peer.url, 'GET', peerPath);
    if (answer.status !== 200 || answer.text !== sqliteFixture.agentConfigBody) throw new Error(`the ${peer.name} server does not answer the same body`);
    peerRows.push(await measure({ label: `${peer.name}, fixed JSON body`, database: '-', server: peer, path: peerPath }, settings));
    await peer.stop();
  }
  rows.push(...peerRows);
  const nodeRps = peerRows[0]!.requestsPerSecond;
  for (const target of benchTargets('sqlite', sqlite, sqliteFixture)) rows.push(await measure(target, settings));
  await sqlite.stop();

  if (settings.postgresUrl) {
    const url = await freshSchema(settings.postgresUrl);
    const postgres = await startStreamdelta('postgres', settings, url);
    const fixture = await setUp(postgres);
    if (fixture.agentConfigBody.length !== sqliteFixture.agentConfigBody.length) {
      throw new Error('the agent config answer differs in size between SQLite and PostgreSQL');
    }
    for (const target of benchTargets('postgres', postgres, fixture)) rows.push(await measure(target, settings));
    await postgres.stop();
  }

  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const out: string[] = [
    '',
    `streamdelta API bench: node ${process.version}, ${cpus().length} × ${cpu}`,
    `${settings.duration} s per row after ${settings.warmup} s warm-up, ${settings.connections} connections, pipelining 1, ` +
      `agent config body ${Buffer.byteLength(sqliteFixture.agentConfigBody)} bytes (2 destinations)`,
    '',
    table(rows, nodeRps),
    '',
    '% of bare node = requests/s against the bare node:http row of this run; targets (issue 17) apply to the SQLite rows.',
    'CPU columns, 100 % = one core: server = the server process (user + system, all its threads); bench = this process, which runs autocannon;',
    `other = every other process meanwhile (PostgreSQL's backends on the postgres rows; anything else is interference). This machine has ${cpus().length} cores.`,
  ];
  if (!settings.postgresUrl) out.push('PostgreSQL: skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL to a postgres:// URL).');
  if (settings.cpuProfDir) out.push(`CPU profiles of the streamdelta servers are in ${settings.cpuProfDir}; profiling slows them down.`);

  let ok = true;
  for (const r of rows) {
    if (r.errors > 0 || r.non2xx > 0) {
      ok = false;
      const codes = Object.entries(r.statusCodes).map(([code, { count }]) => `${code}×${count}`).join(', ');
      out.push(`FAILED RESPONSES: ${r.target} on ${r.database}: ${r.errors} connection errors/timeouts, ${r.non2xx} non-2xx (status codes ${codes}); its numbers are not valid.`);
    }
  }
  for (const r of rows) {
    const where = `${r.target}${r.database === '-' ? '' : ` on ${r.database}`}`;
    if (r.database !== 'postgres' && r.otherCpu !== undefined && r.otherCpu > 15) {
      out.push(`NOTE: other processes used ${Math.round(r.otherCpu)} % of a core during ${where}: that row may be disturbed; run again on a quiet machine.`);
    }
    if (r.benchCpu > 85) {
      out.push(`NOTE: autocannon used ${Math.round(r.benchCpu)} % of a core during ${where}: the load generator is near its own limit, the server may sustain more.`);
    }
  }
  const failed = rows.filter((r) => verdict(r, nodeRps) === false);
  out.push(failed.length === 0 ? 'targets: all met' : `targets: NOT MET: ${failed.map((r) => r.target).join('; ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return ok && failed.length === 0 ? 0 : 1;
}

let status = 1;
try {
  status = await main();
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
    status = 2;
  } else {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
} finally {
  await cleanUp();
}
process.exit(status);
