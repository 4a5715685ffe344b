import type { EgressPolicy } from '../core/egress/policy.js';
import type { CallbackOutbox, OutgoingCallback } from '../core/webhooks/outbox.js';
import { signatureHeaders } from '../core/webhooks/signature.js';
import { Poller, type NextRun } from './poller.js';
import { post } from './post.js';

export interface DispatcherLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Deliveries in flight at once on a node: each holds a connection and its bounded answer. */
export const MAX_CONCURRENT_DELIVERIES = 8;

/**
 * How often a dispatcher looks at the outbox when nothing it knows of is due. A callback is
 * queued by the node where its event happened, which kicks its own dispatcher, and every retry
 * is a due time the dispatchers read from the outbox, so this is only for what neither covers:
 * callbacks queued by a node that stopped before delivering them (no event announces a queued
 * callback to the other nodes). Five minutes is the longest retry backoff: such a callback is
 * at most one backoff late.
 */
export const CALLBACK_SWEEP_MS = 5 * 60_000;

/**
 * The shortest sleep between two runs that found nothing to deliver, in ms: the due time is read
 * after the due callbacks, and a callback the two reads disagree on must not make a busy loop.
 */
const MIN_SLEEP_MS = 100;

export interface DispatcherOptions {
  /** The first run comes this long after start(), in ms (the node's adapters are up by then). */
  startDelayMs: number;
  /** See CALLBACK_SWEEP_MS. */
  sweepMs: number;
  /** How long one delivery may take, in ms. */
  timeoutMs: number;
  /** Told how each attempt ended (a metric): delivered, failed (retried later) or given up. */
  onAttempt?: (result: DeliveryResult) => void;
}

export type DeliveryResult = 'delivered' | 'failed' | 'given_up';

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = { startDelayMs: 1000, sweepMs: CALLBACK_SWEEP_MS, timeoutMs: 5000 };

/**
 * Delivers the callback outbox: every due callback is POSTed; a 2xx answer delivers it, any
 * other answer or a network failure schedules a retry with backoff, until it is given up.
 * Callbacks that share an ordering key come due one at a time (the outbox sees to it). Every
 * node runs one: each callback is claimed by the node that delivers it, so it is delivered once;
 * only a node that dies mid-delivery leaves its callbacks to be delivered again once its claim
 * lapses (twice is possible then, lost never).
 */
export class CallbackDispatcher {
  private readonly poller: Poller;
  private readonly stopWaking: () => void;

  constructor(
    private readonly outbox: CallbackOutbox,
    /** Where deliveries may go: every callback URL is a user's, checked at connect time. */
    private readonly egress: EgressPolicy,
    private readonly log: DispatcherLogger,
    private readonly options: DispatcherOptions = DEFAULT_DISPATCHER_OPTIONS,
  ) {
    this.poller = new Poller(() => this.deliverDue(), { sweepMs: options.sweepMs, onError: (err) => log.error({ err }, 'delivering callbacks failed') });
    this.stopWaking = outbox.onEnqueue(() => this.poller.kick());
  }

  /** Delivers what is due from a moment after the start, then whenever a callback is queued here or comes due. */
  start(): void {
    this.poller.start(this.options.startDelayMs);
  }

  /** Delivers every callback due now; returns when the next one comes due. */
  private async deliverDue(): Promise<NextRun> {
    for (;;) {
      const due = await this.outbox.due(MAX_CONCURRENT_DELIVERIES);
      if (this.poller.isStopped) return undefined;
      if (due.length === 0) break;
      await Promise.all(due.map((callback) => this.deliver(callback)));
    }
    const next = await this.outbox.msUntilNextDue();
    return next === undefined ? undefined : Math.max(MIN_SLEEP_MS, next);
  }

  private async deliver(callback: OutgoingCallback): Promise<void> {
    const started = performance.now();
    try {
      const headers: Record<string, string> = {
        ...callback.headers,
        'content-type': callback.contentType,
        ...(callback.signingSecret ? signatureHeaders(callback.signatureScheme, callback.signingSecret, callback.id, callback.body, new Date()) : {}),
      };
      const { status } = await post(this.egress, callback.url, callback.body, headers, this.options.timeoutMs);
      await this.outbox.attempted(callback, { statusCode: status, durationMs: performance.now() - started, error: null });
      if (status >= 200 && status < 300) {
        await this.outbox.delivered(callback);
        this.options.onAttempt?.('delivered');
        return;
      }
      this.options.onAttempt?.((await this.outbox.failed(callback, `HTTP ${status}`)) ? 'given_up' : 'failed');
    } catch (err) {
      const message = err instanceof Error ? (err.name === 'TimeoutError' ? 'timed out' : err.message) : String(err);
      await this.outbox.attempted(callback, { statusCode: null, durationMs: performance.now() - started, error: message });
      this.options.onAttempt?.((await this.outbox.failed(callback, message)) ? 'given_up' : 'failed');
      this.log.warn({ event: callback.event, attempts: callback.attempts + 1, error: message }, 'callback delivery failed; will retry');
    }
  }

  async stop(): Promise<void> {
    this.stopWaking();
    await this.poller.stop();
  }
}
