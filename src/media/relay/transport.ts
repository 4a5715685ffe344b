import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { ConnectionOptions } from 'node:tls';
import { parsePublishUrl } from '../../core/relays/publish-url.js';
import { flvFileHeader, flvTag } from '../wire/flv-file.js';
import { RtmpPublisher } from '../rtmp/client.js';
import { MessageType, type RtmpMessage } from '../wire/rtmp/messages.js';

/** One connection of a relay to its destination: a push over RTMP(S), or an ffmpeg child. */
export interface RelayTransport {
  /** Resolves once media can flow; rejects with a message fit for the status (no secrets). */
  start(): Promise<void>;
  send(message: RtmpMessage): void;
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

  constructor(url: string, tls: ConnectionOptions | undefined) {
    this.publisher = new RtmpPublisher(parsePublishUrl(url), { ...(tls ? { tls } : {}), timeoutMs: 10_000 });
  }

  start(): Promise<void> {
    return this.publisher.start();
  }

  send(message: RtmpMessage): void {
    this.publisher.sendMedia(message);
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
 * A transcoding relay: an ffmpeg child reads the live tags as FLV on its stdin and publishes
 * with the destination's own arguments (Multistreamer's per-account `ffmpeg_args`).
 */
export class FfmpegTransport implements RelayTransport {
  private child: ChildProcessWithoutNullStreams | undefined;
  private headerSent = false;
  private stopping = false;
  private readonly listeners = new Set<(reason: string) => void>();
  private stderrTail = '';
  private written = 0;

  constructor(
    private readonly url: string,
    private readonly args: readonly string[],
    private readonly ffmpegPath = 'ffmpeg',
  ) {}

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'flv', '-i', 'pipe:0', ...this.args, '-f', 'flv', this.url], {
        stdio: ['pipe', 'ignore', 'pipe'],
      }) as unknown as ChildProcessWithoutNullStreams;
      this.child = child;
      child.stdin.on('error', () => {}); // EPIPE when ffmpeg exits first; the exit handler reports it
      child.stderr.on('data', (chunk: Buffer) => {
        this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
      });
      child.once('error', (err: NodeJS.ErrnoException) => {
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
        if (this.stopping) return;
        const why = this.lastError();
        const reason = `ffmpeg exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}`;
        for (const listener of this.listeners) listener(reason);
      });
    });
  }

  /** ffmpeg's last error line, with the destination URL (it carries the key) taken out. */
  private lastError(): string {
    const { tcUrl, streamName } = parsePublishUrl(this.url);
    const line = this.stderrTail.trim().split('\n').pop() ?? '';
    return line.split(this.url).join('[destination]').split(streamName).join('[redacted]').replace(tcUrl, '[destination]').slice(0, 300);
  }

  send(message: RtmpMessage): void {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return;
    // Metadata goes to ffmpeg's own output; only audio and video are fed.
    if (message.type !== MessageType.Audio && message.type !== MessageType.Video) return;
    if (!this.headerSent) {
      this.headerSent = true;
      stdin.write(flvFileHeader(true, true));
    }
    const tag = flvTag(message.type, message.timestamp, message.payload);
    this.written += tag.length;
    stdin.write(tag);
  }

  get backlog(): number {
    return this.child?.stdin.writableLength ?? 0;
  }

  get bytesSent(): number {
    return this.written;
  }

  onClose(listener: (reason: string) => void): void {
    this.listeners.add(listener);
  }

  stop(): void {
    this.stopping = true;
    const child = this.child;
    if (!child) return;
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  }

  abort(_reason: string): void {
    this.stopping = true;
    this.child?.kill('SIGKILL');
  }
}
