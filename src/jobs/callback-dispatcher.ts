import type { EgressPolicy } from '../core/egress/policy.js';
import type { CallbackOutbox, OutgoingCallback } from '../core/webhooks/outbox.js';
import { signatureHeaders } from '../core/webhooks/signature.js';
import { Poller } from './poller.js';
import { post } from './post.js';

export interface DispatcherLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Deliveries in flight at once on a node: each holds a connection and its bounded answer. */
export const MAX_CONCURRENT_DELIVERIES = 8;

/**
 * Delivers the callback outbox: every due callback is POSTed; a 2xx answer delivers it, any
 * other answer or a network failure schedules a retry with backoff, until it is given up.
 * Callbacks that share an ordering key come due one at a time (the outbox sees to it). Several
 * nodes may run one: a callback delivered twice is possible, lost is not.
 */
export class CallbackDispatcher {
  private readonly poller: Poller;
  private readonly stopWaking: () => void;

  constructor(
    private readonly outbox: CallbackOutbox,
    /** Where deliveries may go: every callback URL is a user's, checked at connect time. */
    private readonly egress: EgressPolicy,
    private readonly log: DispatcherLogger,
    private readonly options: { pollMs: number; timeoutMs: number } = { pollMs: 1000, timeoutMs: 5000 },
  ) {
    this.poller = new Poller(() => this.deliverDue(), { intervalMs: options.pollMs, onError: (err) => log.error({ err }, 'delivering callbacks failed') });
    this.stopWaking = outbox.onEnqueue(() => this.poller.kick());
  }

  /** Delivers what is due from one interval after the start (the node's adapters are up by then), then as callbacks come due. */
  start(): void {
    this.poller.start(this.options.pollMs);
  }

  private async deliverDue(): Promise<void> {
    for (;;) {
      const due = await this.outbox.due(MAX_CONCURRENT_DELIVERIES);
      if (due.length === 0 || this.poller.isStopped) return;
      await Promise.all(due.map((callback) => this.deliver(callback)));
    }
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
        return;
      }
      await this.outbox.failed(callback, `HTTP ${status}`);
    } catch (err) {
      const message = err instanceof Error ? (err.name === 'TimeoutError' ? 'timed out' : err.message) : String(err);
      await this.outbox.attempted(callback, { statusCode: null, durationMs: performance.now() - started, error: message });
      await this.outbox.failed(callback, message);
      this.log.warn({ event: callback.event, attempts: callback.attempts + 1, error: message }, 'callback delivery failed; will retry');
    }
  }

  async stop(): Promise<void> {
    this.stopWaking();
    await this.poller.stop();
  }
}
