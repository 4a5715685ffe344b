import type { Bus } from '../../bus/bus.js';
import type { GoLiveService } from '../../core/broadcasts/go-live.js';
import type { DomainEvent } from '../../core/kernel/events.js';
import type { StreamService } from '../../core/streams/streams.js';
import type { StreamId } from '../../core/kernel/ids.js';
import type { EgressPolicy } from '../../core/egress/policy.js';
import type { PublishSink } from '../rtmp/connection.js';
import { EgressProxy } from './egress-proxy.js';
import { Puller, type PullerLogger, type PullerOptions } from './puller.js';

/** What the pullers need from the core: the switch events, the switch itself and the pull arguments, and the stream. */
export interface PullCore {
  events: Pick<Bus<DomainEvent>, 'subscribe'>;
  goLive: Pick<GoLiveService, 'recoverNode' | 'setPulling' | 'pullArgs'>;
  streams: Pick<StreamService, 'findById'>;
}

export interface PullersOptions extends PullerOptions {
  core: PullCore;
  log: PullerLogger & { error(obj: object, msg: string): void };
  nodeId: string;
  /** Publishes a stream on this node by its key, in process (the media plane's publishInProcess). */
  publish: (key: string, disconnect: (reason: string) => void) => Promise<PublishSink>;
  /** Where pullers may connect: every connection their ffmpeg makes for HTTP(S) goes through it. */
  egress: EgressPolicy;
}

/**
 * The pullers of this node. `core.goLive.setPulling(true)` on this node names it in the
 * `stream.pull_started` event, and only the named node starts the puller; `stream.pull_stopped`
 * from any node stops it. A puller whose source ended or that gave up switches pulling off.
 */
export class Pullers {
  private readonly pullers = new Map<StreamId, Puller>();
  private readonly queue = new Map<StreamId, Promise<void>>();
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  private readonly proxy: EgressProxy;
  private proxyUrl = '';

  constructor(private readonly options: PullersOptions) {
    this.proxy = new EgressProxy(options.egress);
  }

  /** Switches off pullers this node ran before it stopped, then follows the events. */
  async start(): Promise<void> {
    this.proxyUrl = await this.proxy.start();
    await this.options.core.goLive.recoverNode(this.options.nodeId);
    this.unsubscribe = this.options.core.events.subscribe((event) => this.onEvent(event));
  }

  private onEvent(event: DomainEvent): void {
    if (event.type === 'stream.pull_started' && event.nodeId === this.options.nodeId) {
      this.serial(event.streamId, () => this.begin(event.streamId));
    } else if (event.type === 'stream.pull_stopped') {
      this.serial(event.streamId, () => this.end(event.streamId));
    }
  }

  /** One change per stream at a time, in the order the events came. */
  private serial(streamId: StreamId, work: () => Promise<void>): void {
    const next = (this.queue.get(streamId) ?? Promise.resolve())
      .then(work)
      .catch((err) => this.options.log.error({ err, streamId }, 'switching a puller failed'));
    this.queue.set(streamId, next);
    void next.finally(() => {
      if (this.queue.get(streamId) === next) this.queue.delete(streamId);
    });
  }

  private async begin(streamId: StreamId): Promise<void> {
    const { core } = this.options;
    if (this.closed || this.pullers.has(streamId)) return;
    const stream = await core.streams.findById(streamId);
    if (!stream) {
      // Deleted since pulling was switched on.
      await core.goLive.setPulling(streamId, false).catch(() => {});
      return;
    }
    // The arguments are checked again before each ffmpeg start (changed since, or a host that
    // now resolves to a private address); a refusal ends the puller and switches pulling off.
    const prepare = () => core.goLive.pullArgs(streamId);
    const open = (disconnect: (reason: string) => void) => this.options.publish(stream.key, disconnect);
    const puller = new Puller(streamId, prepare, open, this.proxyUrl, this.options, this.options.log, () => {
      this.pullers.delete(streamId);
      void core.goLive.setPulling(streamId, false).catch((err) => this.options.log.error({ err, streamId }, 'switching pulling off failed'));
    });
    this.pullers.set(streamId, puller);
    puller.start();
  }

  private async end(streamId: StreamId): Promise<void> {
    const puller = this.pullers.get(streamId);
    if (!puller) return;
    this.pullers.delete(streamId);
    await puller.stop();
  }

  /** A running puller of this node (for tests and status). */
  get(streamId: StreamId): Puller | undefined {
    return this.pullers.get(streamId);
  }

  /** Kills every puller child and waits for them to be gone: no orphans after a shutdown. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    await Promise.allSettled([...this.queue.values()]);
    const running = [...this.pullers.values()];
    this.pullers.clear();
    await Promise.allSettled(running.map((p) => p.stop()));
    await this.proxy.close();
    // Nothing pulls any more: say so while the database is still open.
    for (const puller of running) {
      await this.options.core.goLive.setPulling(puller.streamId, false).catch((err) => this.options.log.error({ err, streamId: puller.streamId }, 'switching pulling off failed'));
    }
  }
}
