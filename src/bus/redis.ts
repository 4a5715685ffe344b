import { Redis } from 'ioredis';
import { deliver, type Bus, type BusEvent, type EventHandler } from './bus.js';

/**
 * Events across nodes over Redis pub/sub. Every node publishes to one channel and hears
 * every event on it, its own included, so local and remote subscribers see the same stream.
 */
export class RedisBus<E extends BusEvent = BusEvent> implements Bus<E> {
  private readonly handlers = new Set<EventHandler<E>>();
  private readonly pub: Redis;
  private readonly sub: Redis;

  private constructor(
    url: string,
    private readonly channel: string,
    private readonly onError: (err: unknown) => void,
  ) {
    this.pub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
    this.sub = new Redis(url, { lazyConnect: true });
    this.pub.on('error', onError);
    this.sub.on('error', onError);
    this.sub.on('message', (ch: string, message: string) => {
      if (ch !== this.channel) return;
      let event: E;
      try {
        event = JSON.parse(message) as E;
      } catch (err) {
        this.onError(err);
        return;
      }
      deliver(this.handlers, event, this.onError);
    });
  }

  /** Connects and subscribes; resolves once events published from now on will be heard. */
  static async connect<E extends BusEvent>(
    url: string,
    options: { channel?: string; onError?: (err: unknown) => void } = {},
  ): Promise<RedisBus<E>> {
    const bus = new RedisBus<E>(url, options.channel ?? 'streamdelta:events', options.onError ?? (() => {}));
    await Promise.all([bus.pub.connect(), bus.sub.connect()]);
    await bus.sub.subscribe(bus.channel);
    return bus;
  }

  async publish(event: E): Promise<void> {
    await this.pub.publish(this.channel, JSON.stringify(event));
  }

  /** A PING on the publishing connection: what every event of this node goes through. */
  async check(): Promise<void> {
    await this.pub.ping();
  }

  subscribe(handler: EventHandler<E>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
    await Promise.allSettled([this.sub.quit(), this.pub.quit()]);
  }
}
