import { spawn, type ChildProcess } from 'node:child_process';
import { ValidationError } from '../../core/kernel/errors.js';
import type { StreamId } from '../../core/kernel/ids.js';
import { redactUrls } from '../../core/ffmpeg/pull-args.js';
import { readFlvOutput } from '../ffmpeg/flv-output.js';
import type { PublishSink } from '../rtmp/connection.js';
import type { RtmpMessage } from '../wire/rtmp/messages.js';

/** Starts a publish of the puller's stream on this node (the media plane's in-process publish); rejects when refused. */
export type OpenPublish = (disconnect: (reason: string) => void) => Promise<PublishSink>;

/** Media read from ffmpeg while the publish to the ingest is being set up; more is a failure. */
const MAX_QUEUED_MESSAGES = 2000;

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
 * ingest, as an encoder would: ffmpeg writes FLV to a pipe (`<args> -f flv pipe:1`) and this
 * server publishes it inside the process, so the stream's key never appears in ffmpeg's
 * arguments (every local user can read those) and no socket carries it. ffmpeg's HTTP and HTTPS go through the
 * egress proxy (`http_proxy`), its other inputs get the checked address (pull-args.ts). The
 * publish starts with the first media ffmpeg writes, so a source that cannot be opened starts
 * no broadcast. The arguments are asked for (and so checked again) before every start. A
 * failing child is started again after a growing pause, up to `maxAttempts` failures in a row.
 * A source URL may hold a token, so nothing here logs it: logs name the stream id, and ffmpeg's
 * own words are cleaned of URL credentials and queries before they are kept.
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
    /** Opens the publish of the stream on this node. */
    private readonly open: OpenPublish,
    /** The egress proxy ffmpeg's HTTP(S) goes through. */
    private readonly proxyUrl: string,
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
    const env: NodeJS.ProcessEnv = { ...process.env, http_proxy: this.proxyUrl, https_proxy: this.proxyUrl };
    delete env.no_proxy;
    delete env.NO_PROXY;
    const child = spawn(this.options.ffmpegPath, ['-hide_banner', '-nostdin', '-nostats', '-v', 'error', ...args, '-f', 'flv', 'pipe:1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    const feed = new IngestFeed(this.open, (reason) => {
      // The ingest refused or cut the publish: this run has failed.
      stderr = `${stderr}\n${reason}`.slice(-2000);
      child.kill('SIGKILL');
    });
    readFlvOutput(
      child.stdout!,
      (message) => feed.send(message),
      (reason) => {
        if (reason === undefined) return;
        stderr = `${stderr}\n${reason}`.slice(-2000);
        child.kill('SIGKILL');
      },
    );
    this.log.info({ streamId: this.streamId, pid: child.pid }, 'puller started');
    this.exited = new Promise<void>((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: string | null, spawnError?: Error) => {
        if (done) return;
        done = true;
        this.child = undefined;
        // What ffmpeg wrote has been read ('close' comes after its output ends): the publish ends after it.
        if (code === 0) feed.end();
        else feed.abort();
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
      child.once('close', (code, signal) => finish(code, signal));
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
    return redactUrls(text);
  }
}

/**
 * The publish of a puller's media on this node: started by the first message, which waits
 * (with those after it, up to a bound) until the media plane accepted the publish. `onFailure`
 * hears once why it was refused or ended from the other side; `end` and `abort` end it from here.
 */
class IngestFeed {
  private sink: PublishSink | undefined;
  private queued: RtmpMessage[] | undefined;
  private started = false;
  private over = false;
  /** Over because the media is all sent (not because it failed): what is queued still goes. */
  private ending = false;

  constructor(
    private readonly open: OpenPublish,
    private readonly onFailure: (reason: string) => void,
  ) {}

  send(message: RtmpMessage): void {
    if (this.over) return;
    if (this.sink !== undefined) {
      this.sink.onMessage(message);
      return;
    }
    if (!this.started) this.begin();
    if (this.queued!.length >= MAX_QUEUED_MESSAGES) return this.fail('the ingest did not accept the publish in time');
    this.queued!.push(message);
  }

  private begin(): void {
    this.started = true;
    this.queued = [];
    this.open((reason) => this.fail(`the ingest ended the publish: ${reason}`)).then(
      (sink) => {
        const queued = this.queued ?? [];
        this.queued = undefined;
        if (this.over && !this.ending) return void sink.onEnd('the puller stopped');
        this.sink = sink;
        for (const message of queued) sink.onMessage(message);
        if (this.ending) sink.onEnd('the source ended');
      },
      (err: Error) => this.fail(`the ingest refused the publish: ${(err as { description?: string }).description ?? err.message}`),
    );
  }

  private fail(reason: string): void {
    if (this.over) return;
    this.over = true;
    this.sink?.onEnd(reason);
    this.onFailure(reason);
  }

  /** The media is all sent: the publish ends as an encoder ends it. */
  end(): void {
    if (this.over) return;
    this.over = true;
    this.ending = true;
    this.sink?.onEnd('the source ended');
  }

  abort(): void {
    if (this.over) return;
    this.over = true;
    this.sink?.onEnd('the puller stopped');
  }
}
