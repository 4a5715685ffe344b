import { spawn, type ChildProcess } from 'node:child_process';
import { ValidationError } from '../../core/kernel/errors.js';
import type { StreamId } from '../../core/kernel/ids.js';
import { redactUrls } from '../../core/ffmpeg/pull-args.js';

export interface PullerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PullerOptions {
  ffmpegPath: string;
  /** Failed runs in a row before the puller gives up. */
  maxAttempts: number;
  /** Wait after the first failure; doubled after each next one. */
  initialRetryMs: number;
  /** A run this long counts as a success: the failure count starts again. */
  healthyRunMs: number;
}

/**
 * Why a puller stopped by itself: its source ended (ffmpeg exited 0), it failed too often, or
 * its arguments were refused when checked again before a start (a host that now resolves to a
 * private address, a file moved out of the pull directory).
 */
export type PullerEnd = { reason: 'source ended' } | { reason: 'gave up'; lastError: string } | { reason: 'refused'; lastError: string };

/**
 * One ffmpeg child feeding a stream from its arguments (`-re -i <source> …`) into this server's
 * RTMP ingest, as an encoder would: `ffmpeg -v error <args> -f flv rtmp://…/<app>/<key>`. The
 * arguments are asked for (and so checked again) before every start. A failing child is started
 * again after a growing pause, up to `maxAttempts` failures in a row. The ingest URL holds the
 * stream key and a source URL may hold credentials or a token, so nothing here logs them: logs
 * name the stream id, and ffmpeg's own words are cleaned of the key, of URL credentials and of
 * URL queries before they are kept.
 */
export class Puller {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private preparing = false;
  private failures = 0;
  /** The last few lines ffmpeg wrote (or why its arguments were refused), key and URL secrets removed. */
  lastError = '';

  constructor(
    readonly streamId: StreamId,
    /** The checked ffmpeg arguments; a ValidationError when they are refused now. */
    private readonly prepare: () => Promise<readonly string[]>,
    private readonly ingestUrl: string,
    private readonly key: string,
    private readonly options: PullerOptions,
    private readonly log: PullerLogger,
    private readonly onEnd: (end: PullerEnd) => void,
  ) {}

  start(): void {
    if (this.stopped || this.child || this.preparing) return;
    this.preparing = true;
    const startedAt = Date.now();
    this.prepare().then(
      (args) => {
        this.preparing = false;
        if (!this.stopped) this.spawn(args);
      },
      (err: unknown) => {
        this.preparing = false;
        if (this.stopped) return;
        if (err instanceof ValidationError) {
          this.lastError = this.clean(`refused: ${err.fields.ffmpeg_pull_args ?? err.message}`);
          this.log.warn({ streamId: this.streamId, error: this.lastError }, 'puller arguments refused; not starting it');
          this.stopped = true;
          this.onEnd({ reason: 'refused', lastError: this.lastError });
          return;
        }
        this.failed(startedAt, this.clean(`could not prepare ffmpeg: ${(err as Error).message}`));
      },
    );
  }

  private spawn(args: readonly string[]): void {
    const startedAt = Date.now();
    const child = spawn(this.options.ffmpegPath, ['-hide_banner', '-nostdin', '-v', 'error', ...args, '-f', 'flv', this.ingestUrl], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    this.log.info({ streamId: this.streamId, pid: child.pid }, 'puller started');
    this.exited = new Promise<void>((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: string | null, spawnError?: Error) => {
        if (done) return;
        done = true;
        this.child = undefined;
        resolve();
        const said = this.clean(spawnError ? spawnError.message : stderr).trim().split('\n').slice(-3).join(' | ');
        this.lastError = code === 0 ? '' : `ffmpeg ${spawnError ? 'could not start' : `exited with ${code ?? signal}`}${said ? `: ${said}` : ''}`;
        if (this.stopped) {
          this.log.info({ streamId: this.streamId }, 'puller stopped');
          return;
        }
        if (code === 0) {
          this.log.info({ streamId: this.streamId }, 'puller source ended');
          this.stopped = true;
          this.onEnd({ reason: 'source ended' });
          return;
        }
        this.failed(startedAt, this.lastError);
      };
      child.once('exit', (code, signal) => finish(code, signal));
      child.once('error', (err) => finish(null, null, err));
    });
  }

  /** A failed run (or start): start again after a growing pause, or give up. */
  private failed(startedAt: number, error: string): void {
    this.lastError = error;
    if (Date.now() - startedAt >= this.options.healthyRunMs) this.failures = 0;
    this.failures++;
    if (this.failures >= this.options.maxAttempts) {
      this.log.warn({ streamId: this.streamId, attempts: this.failures, error }, 'puller failed too often; giving up');
      this.stopped = true;
      this.onEnd({ reason: 'gave up', lastError: error });
      return;
    }
    const delay = this.options.initialRetryMs * 2 ** (this.failures - 1);
    this.log.warn({ streamId: this.streamId, attempts: this.failures, retryInMs: delay, error }, 'puller failed; starting it again');
    this.retryTimer = setTimeout(() => this.start(), delay);
    this.retryTimer.unref();
  }

  /** Kills the child (TERM, then KILL if it lingers) and resolves once it is gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const child = this.child;
    if (child) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(kill);
    }
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  private clean(text: string): string {
    return redactUrls(this.key ? text.split(this.key).join('<key>') : text);
  }
}
