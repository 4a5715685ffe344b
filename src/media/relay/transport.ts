import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { ConnectionOptions } from 'node:tls';
import type { EgressPolicy } from '../../core/egress/policy.js';
import { parsePublishUrl } from '../../core/relays/publish-url.js';
import { readFlvOutput } from '../ffmpeg/flv-output.js';
import { flvFileHeader, flvTag } from '../wire/flv-file.js';
import { RtmpPublisher } from '../rtmp/client.js';
import { MessageType, type RtmpMessage } from '../wire/rtmp/messages.js';

/** One connection of a relay to its destination: a push over RTMP(S), or an ffmpeg child. */
export interface RelayTransport {
  /** Resolves once media can flow; rejects with a message fit for the status (no secrets). */
  start(): Promise<void>;
  /** Messages of the live stream, in order (shared with other consumers: not to be changed). */
  send(batch: readonly RtmpMessage[]): void;
  /** Bytes accepted but not yet delivered: how far behind the destination is. */
  readonly backlog: number;
  /** Bytes handed to the connection so far, the backlog included. */
  readonly bytesSent: number;
  /** Called once when the connection ends by itself (not after stop()). */
  onClose(listener: (reason: string) => void): void;
  /** Ends cleanly: FCUnpublish and deleteStream, or the end of ffmpeg's input. */
  stop(): void;
  /** Ends at once. */
  abort(reason: string): void;
}

/** A plain relay: streamdelta's own RTMP client pushes the live tags. */
export class RtmpTransport implements RelayTransport {
  private readonly publisher: RtmpPublisher;

  constructor(url: string, options: { tls: ConnectionOptions | undefined; egress: EgressPolicy }) {
    this.publisher = new RtmpPublisher(parsePublishUrl(url), { ...(options.tls ? { tls: options.tls } : {}), egress: options.egress, timeoutMs: 10_000 });
  }

  start(): Promise<void> {
    return this.publisher.start();
  }

  send(batch: readonly RtmpMessage[]): void {
    this.publisher.sendMediaBatch(batch);
  }

  get backlog(): number {
    return this.publisher.backlog;
  }

  get bytesSent(): number {
    return this.publisher.bytesSent;
  }

  onClose(listener: (reason: string) => void): void {
    this.publisher.onClose(listener);
  }

  stop(): void {
    this.publisher.stop();
  }

  abort(reason: string): void {
    this.publisher.close(reason);
  }
}

/**
 * A transcoding relay: an ffmpeg child reads the live tags as FLV on its stdin, applies the
 * destination's own arguments (Multistreamer's per-account `ffmpeg_args`) and writes FLV to its
 * stdout, which streamdelta's own RTMP client publishes to the destination. ffmpeg never sees
 * the destination's URL (its key would show in `ps`), the connection goes through the egress
 * policy like any relay's, and the relay is live only once the destination accepted the
 * publish: the push starts first, ffmpeg after it.
 */
export class FfmpegTransport implements RelayTransport {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly publisher: RtmpPublisher;
  private headerSent = false;
  private stopping = false;
  private readonly listeners = new Set<(reason: string) => void>();
  private stderrTail = '';

  constructor(
    url: string,
    private readonly args: readonly string[],
    private readonly ffmpegPath: string,
    options: { tls: ConnectionOptions | undefined; egress: EgressPolicy },
  ) {
    this.publisher = new RtmpPublisher(parsePublishUrl(url), { ...(options.tls ? { tls: options.tls } : {}), egress: options.egress, timeoutMs: 10_000 });
  }

  async start(): Promise<void> {
    await this.publisher.start();
    this.publisher.onClose((reason) => {
      if (this.stopping) return;
      this.abortChild();
      this.closed(reason);
    });
    await new Promise<void>((resolve, reject) => {
      const child = spawn(this.ffmpegPath, ['-hide_banner', '-nostats', '-loglevel', 'error', '-f', 'flv', '-i', 'pipe:0', ...this.args, '-f', 'flv', 'pipe:1'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      this.child = child;
      child.stdin.on('error', () => {}); // EPIPE when ffmpeg exits first; the exit handler reports it
      child.stderr.on('data', (chunk: Buffer) => {
        this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
      });
      readFlvOutput(
        child.stdout,
        (message) => this.publisher.sendMedia(message),
        (reason) => {
          if (reason !== undefined && !this.stopping) {
            this.abortChild();
            this.closed(reason);
          }
        },
      );
      child.once('error', (err: NodeJS.ErrnoException) => {
        this.publisher.close('ffmpeg could not start');
        reject(
          new Error(
            err.code === 'ENOENT'
              ? `ffmpeg is not installed (${this.ffmpegPath} was not found): destinations with ffmpeg arguments need it on the PATH or at --ffmpeg-path`
              : `ffmpeg could not start: ${err.message}`,
          ),
        );
      });
      child.once('spawn', () => resolve());
      child.once('exit', (code, signal) => {
        if (this.stopping) {
          // ffmpeg has written all it had: the push ends cleanly after it.
          this.publisher.stop();
          return;
        }
        const why = this.stderrTail.trim().split('\n').pop()?.slice(0, 300) ?? '';
        this.publisher.close('ffmpeg exited');
        this.closed(`ffmpeg exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}`);
      });
    });
  }

  private closed(reason: string): void {
    for (const listener of this.listeners) listener(reason);
    this.listeners.clear();
  }

  private abortChild(): void {
    this.stopping = true;
    this.child?.kill('SIGKILL');
  }

  send(batch: readonly RtmpMessage[]): void {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return;
    for (const message of batch) {
      // Metadata goes to ffmpeg's own output; only audio and video are fed.
      if (message.type !== MessageType.Audio && message.type !== MessageType.Video) continue;
      if (!this.headerSent) {
        this.headerSent = true;
        stdin.write(flvFileHeader(true, true));
      }
      stdin.write(flvTag(message.type, message.timestamp, message.payload));
    }
  }

  /** What waits for ffmpeg and what waits for the destination. */
  get backlog(): number {
    return (this.child?.stdin.writableLength ?? 0) + this.publisher.backlog;
  }

  get bytesSent(): number {
    return this.publisher.bytesSent;
  }

  onClose(listener: (reason: string) => void): void {
    this.listeners.add(listener);
  }

  stop(): void {
    this.stopping = true;
    const child = this.child;
    if (!child) {
      this.publisher.stop();
      return;
    }
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  }

  abort(reason: string): void {
    this.abortChild();
    this.publisher.close(reason);
  }
}
