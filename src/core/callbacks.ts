import { newId } from './ids.js';
import type { CoreContext } from './context.js';

/**
 * The outbox of HTTP callbacks to outside systems (StreamAPI sites, later webhooks). A callback
 * is written here in the same breath as what caused it and delivered by a worker with retries,
 * so none is lost to a failed request or a restart.
 */
export interface OutgoingCallback {
  id: string;
  url: string;
  /** application/x-www-form-urlencoded body. */
  body: string;
  event: string;
  attempts: number;
}

export const CALLBACK_MAX_ATTEMPTS = 10;

/** Seconds to wait after the n-th failed attempt: 2, 4, 8, … up to five minutes. */
export function callbackRetryDelay(attempts: number): number {
  return Math.min(300, 2 ** attempts);
}

export class CallbackOutbox {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly ctx: CoreContext) {}

  async enqueue(url: string, event: string, params: Record<string, string>): Promise<void> {
    const now = this.ctx.now();
    await this.ctx.store.callbacks.insert({
      id: newId<'CallbackId'>(),
      url,
      body: new URLSearchParams(params).toString(),
      event,
      attempts: 0,
      next_attempt_at: now,
      delivered_at: null,
      failed_at: null,
      last_error: null,
      created_at: now,
    });
    for (const wake of this.waiters) wake();
  }

  /** Calls `wake` whenever a callback is queued on this node, so a worker need not wait for its next poll. */
  onEnqueue(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  async due(limit = 20): Promise<OutgoingCallback[]> {
    const rows = await this.ctx.store.callbacks.due(this.ctx.now(), limit);
    return rows.map((r) => ({ id: r.id, url: r.url, body: r.body, event: r.event, attempts: Number(r.attempts) }));
  }

  async delivered(callback: OutgoingCallback): Promise<void> {
    await this.ctx.store.callbacks.delivered(callback.id, this.ctx.now(), callback.attempts + 1);
  }

  /** Records a failed attempt: retried later, or given up after CALLBACK_MAX_ATTEMPTS. */
  async failed(callback: OutgoingCallback, error: string): Promise<void> {
    const attempts = callback.attempts + 1;
    if (attempts >= CALLBACK_MAX_ATTEMPTS) {
      await this.ctx.store.callbacks.gaveUp(callback.id, attempts, this.ctx.now(), error);
      return;
    }
    const next = new Date(Date.parse(this.ctx.now()) + callbackRetryDelay(attempts) * 1000).toISOString();
    await this.ctx.store.callbacks.retryLater(callback.id, attempts, next, error);
  }
}
