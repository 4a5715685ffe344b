/**
 * Every bench, one after the other, each as its own child process printing its own table:
 *
 *   npm run bench                 each bench's short default settings
 *   npm run bench -- --full       the issue's full sizes (N up to 40) and longer runs
 *   npm run bench -- --only media,relay
 *
 * A bench whose compiled file is not in dist/bench is skipped (the list names benches that may
 * not exist yet in every checkout), except the ones marked required. `--full` is passed to
 * every bench, except that one with longer settings listed here (written before --full) gets
 * those when its --help does not list --full, and the summary says so.
 *
 * Exit status: 0 when every bench ran to the end and said so (exit status 0), 1 when one could
 * not run or failed (its own exit status), 2 on bad options, 130 on Ctrl-C. A target a bench
 * judges FAIL is not a failure of the run: the PASS / FAIL lines of every bench are gathered in
 * a summary at the end instead.
 *
 * Benches are never run by CI or tests: the numbers depend on the machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));

interface Bench {
  name: string;
  /** The compiled file, in dist/bench. */
  file: string;
  /** Missing means the build is broken, not that the bench is yet to be written. */
  required: boolean;
  /** For a bench whose options may lack --full: what makes its run full (longer) then. */
  fullFallback?: string[];
}

const BENCHES: Bench[] = [
  { name: 'media', file: 'media.js', required: true },
  { name: 'relay', file: 'relay.js', required: true, fullFallback: ['--duration', '60'] },
  { name: 'api', file: 'api.js', required: true, fullFallback: ['--duration', '30'] },
  { name: 'fanout', file: 'fanout.js', required: true, fullFallback: ['--duration', '60'] },
  { name: 'hls-delivery', file: 'hls-delivery.js', required: true },
  { name: 'idle', file: 'idle.js', required: true, fullFallback: ['--duration', '60'] },
];

const USAGE = `Usage: npm run bench [-- options]

Runs the benches one after the other (${BENCHES.map((b) => b.name).join(', ')}; a bench not built yet
is skipped), printing each one's table, then a summary of every PASS / FAIL line.

Options:
  --full          the issue's full sizes (N up to 40) and longer runs, passed to each bench
  --only LIST     only these benches, comma-separated, in the order above
  -h, --help      this text

Each bench also reads its own BENCH_* environment variables (see node dist/bench/<name>.js --help).
`;

class UsageError extends Error {}

interface Settings {
  full: boolean;
  benches: Bench[];
}

function readSettings(): Settings {
  let values;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      options: {
        full: { type: 'boolean' },
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
  let benches = BENCHES;
  if (values.only !== undefined) {
    const names = values.only.split(',').map((s) => s.trim());
    for (const name of names) {
      if (!BENCHES.some((b) => b.name === name)) throw new UsageError(`--only takes ${BENCHES.map((b) => b.name).join(', ')} (got ${JSON.stringify(name)})`);
    }
    benches = BENCHES.filter((b) => names.includes(b.name));
  }
  return { full: values.full ?? false, benches };
}

/** What one bench's run came to. */
interface Outcome {
  bench: Bench;
  /** 'ran' (exit 0), 'failed' (could not run or exited otherwise), 'absent' (not built, not required). */
  state: 'ran' | 'failed' | 'absent' | 'interrupted';
  detail: string;
  /** Its verdict lines, each after the heading it belongs to. */
  verdicts: string[];
  seconds: number;
}

/** A verdict line of a bench's output: PASS / FAIL (or why neither) per row, or the API bench's "met" / "NOT MET". */
const VERDICT = /\b(PASS|FAIL|NOT MET|NO DATA|NOT CHECKED|SKIPPED)\b|^target:.*: met\b/;

/**
 * The verdict lines of a bench's output. An indented verdict (one N of a target) is kept
 * under the last unindented line before it, its heading, printed once.
 */
function verdictLines(output: string): string[] {
  const out: string[] = [];
  let heading: string | undefined;
  let headingShown = false;
  for (const line of output.split('\n')) {
    const indented = /^\s/.test(line);
    if (!indented && line.trim() !== '') {
      heading = line;
      headingShown = false;
    }
    if (!VERDICT.test(line)) continue;
    if (indented && heading !== undefined && !headingShown && !VERDICT.test(heading)) out.push(heading);
    headingShown = true;
    out.push(line);
  }
  return out;
}

/** Whether a bench's own --help lists --full. */
function takesFull(path: string): boolean {
  const help = spawnSync(process.execPath, [path, '--help'], { encoding: 'utf8', timeout: 30_000 });
  return help.status === 0 && /--full\b/.test(help.stdout ?? '');
}

let current: ReturnType<typeof spawn> | undefined;
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // Ctrl-C reaches the running bench too (same process group); it cleans up and exits, and
    // no further bench starts. A signal sent to this process alone is passed on.
    interrupted = true;
    if (current && signal === 'SIGTERM') current.kill('SIGTERM');
    if (!current) process.exit(130);
  });
}

function runBench(bench: Bench, args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(HERE, bench.file), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    current = child;
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      output += chunk.toString('utf8');
    });
    child.once('error', (err) => {
      output += `\n${err.message}\n`;
    });
    child.once('close', (code, signal) => {
      current = undefined;
      resolve({ code, signal, output });
    });
  });
}

function duration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}

async function main(): Promise<number> {
  const settings = readSettings();
  const outcomes: Outcome[] = [];
  for (const bench of settings.benches) {
    if (interrupted) break;
    const path = join(HERE, bench.file);
    if (!existsSync(path)) {
      outcomes.push({
        bench,
        state: bench.required ? 'failed' : 'absent',
        detail: bench.required ? `${path} is missing: is the build complete?` : 'not built in this checkout; skipped',
        verdicts: [],
        seconds: 0,
      });
      continue;
    }
    const args: string[] = [];
    let note = '';
    if (settings.full) {
      if (bench.fullFallback && !takesFull(path)) {
        args.push(...bench.fullFallback);
        note = ` (it has no --full; ran with ${bench.fullFallback.join(' ')})`;
      } else args.push('--full');
    }
    process.stdout.write(`\n=== bench ${bench.name}: node dist/bench/${bench.file}${args.length ? ` ${args.join(' ')}` : ''} ===\n`);
    const started = performance.now();
    const { code, signal, output } = await runBench(bench, args);
    const seconds = (performance.now() - started) / 1000;
    const verdicts = verdictLines(output);
    if (interrupted) {
      outcomes.push({ bench, state: 'interrupted', detail: 'interrupted', verdicts, seconds });
      break;
    }
    const ok = code === 0;
    outcomes.push({
      bench,
      state: ok ? 'ran' : 'failed',
      detail: `${ok ? 'ran' : `FAILED TO RUN (${signal ? `signal ${signal}` : `exit status ${code}`}; its errors are above)`} in ${duration(seconds)}${note}`,
      verdicts,
      seconds,
    });
  }

  const lines: string[] = ['', `=== summary${settings.full ? ' (--full)' : ''} ===`];
  let pass = 0;
  let fail = 0;
  for (const o of outcomes) {
    lines.push(`${o.bench.name}: ${o.detail}`);
    for (const v of o.verdicts) {
      lines.push(`  ${v}`);
      if (/\bPASS\b/.test(v)) pass++;
      if (/\b(FAIL|NOT MET)\b/.test(v)) fail++;
    }
    if (o.state === 'ran' && o.verdicts.length === 0) lines.push('  (no PASS / FAIL lines in its output)');
  }
  lines.push(`${pass} PASS, ${fail} FAIL across ${outcomes.filter((o) => o.state === 'ran').length} bench(es) that ran`);
  const failed = outcomes.filter((o) => o.state === 'failed');
  if (failed.length > 0) lines.push(`benches that did not run to the end: ${failed.map((o) => o.bench.name).join(', ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (interrupted) return 130;
  return failed.length > 0 ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
