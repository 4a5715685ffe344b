import type { CallbackOutbox, OutgoingCallback } from '../core/webhooks/outbox.js';
import { signedHeaders } from '../core/webhooks/signature.js';

export interface DispatcherLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** POSTs a form body; resolves with the status and text, rejects on network failure or timeout. */
export function postForm(url: string, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return post(url, body, { 'content-type': 'application/x-www-form-urlencoded' }, timeoutMs);
}

/** POSTs a body; resolves with the status and text, rejects on network failure or timeout. */
export async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = (await response.text()).slice(0, 65536);
  return { status: response.status, text };
}

/**
 * Delivers the callback outbox: every due callback is POSTed; a 2xx answer delivers it, any
 * other answer or a network failure schedules a retry with backoff, until it is given up.
 * Callbacks that share an ordering key come due one at a time (the outbox sees to it). Several
 * nodes may run one: a callback delivered twice is possible, lost is not.
 */
export class CallbackDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly stopWaking: () => void;

  constructor(
    private readonly outbox: CallbackOutbox,
    private readonly log: DispatcherLogger,
    private readonly options: { pollMs: number; timeoutMs: number } = { pollMs: 1000, timeoutMs: 5000 },
  ) {
    this.stopWaking = outbox.onEnqueue(() => this.kick());
  }

  start(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.kick(), this.options.pollMs);
    this.timer.unref();
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.deliverDue()
      .catch((err) => this.log.error({ err }, 'delivering callbacks failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        } else {
          this.schedule();
        }
      });
  }

  private async deliverDue(): Promise<void> {
    for (;;) {
      const due = await this.outbox.due();
      if (due.length === 0 || this.stopped) return;
      await Promise.all(due.map((callback) => this.deliver(callback)));
    }
  }

  private async deliver(callback: OutgoingCallback): Promise<void> {
    try {
      const headers: Record<string, string> = {
        ...callback.headers,
        'content-type': callback.contentType,
        ...(callback.signingSecret ? signedHeaders(callback.signingSecret, callback.id, callback.body, new Date()) : {}),
      };
      const { status } = await post(callback.url, callback.body, headers, this.options.timeoutMs);
      if (status >= 200 && status < 300) {
        await this.outbox.delivered(callback);
        return;
      }
      await this.outbox.failed(callback, `HTTP ${status}`);
    } catch (err) {
      const message = err instanceof Error ? (err.name === 'TimeoutError' ? 'timed out' : err.message) : String(err);
      await this.outbox.failed(callback, message);
      this.log.warn({ event: callback.event, attempts: callback.attempts + 1, error: message }, 'callback delivery failed; will retry');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWaking();
    clearTimeout(this.timer);
    await this.running;
  }
}
