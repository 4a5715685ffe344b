import { newId } from '../kernel/ids.js';
import type { Repositories } from '../../store/store.js';
import type { CallbackRow } from '../../store/repositories/webhooks.js';
import type { SignatureScheme } from './signature.js';
import type { CoreContext } from '../kernel/context.js';

/**
 * The outbox of HTTP callbacks to outside systems (StreamAPI sites, stream webhooks). A callback
 * is written here in the same breath as what caused it and delivered by a worker with retries,
 * so none is lost to a failed request or a restart.
 */
export interface OutgoingCallback {
  id: string;
  url: string;
  /** The body, of type `contentType`. */
  body: string;
  /** application/x-www-form-urlencoded (StreamAPI) or application/json (webhooks). */
  contentType: string;
  /** Extra request headers. */
  headers: Record<string, string>;
  /** When set, each attempt is signed with it (see src/webhooks/signature.ts). A secret: never logged. */
  signingSecret: string | null;
  /** How each attempt is signed (with `signingSecret`). */
  signatureScheme: SignatureScheme;
  /** The live API webhook endpoint it goes to, or null. */
  endpointId: string | null;
  event: string;
  attempts: number;
}

/** What one attempt came to: the receiver's status code, or why there was none. */
export interface AttemptOutcome {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

export interface JsonCallbackOptions {
  /** Callbacks with the same key are delivered in the order they were queued, one at a time. */
  orderingKey?: string;
  signingSecret?: string;
  headers?: Record<string, string>;
  /** Mux's `mux-signature` instead of streamdelta's headers. */
  signatureScheme?: SignatureScheme;
  /** The live API webhook endpoint it goes to (its attempts are listed there). */
  endpointId?: string;
}

export const CALLBACK_MAX_ATTEMPTS = 10;

/**
 * How long a node holds the callbacks it took to deliver: well past a delivery's timeout and the
 * writes after it, so a live node always finishes first; a dead node's callbacks wait this long.
 */
export const CALLBACK_CLAIM_MS = 60_000;

/** Seconds to wait after the n-th failed attempt: 2, 4, 8, … up to five minutes. */
export function callbackRetryDelay(attempts: number): number {
  return Math.min(300, 2 ** attempts);
}

/** Where a live API endpoint's deliveries go now: undefined when it was deleted or disabled. */
export type EndpointLookup = (endpointId: string) => Promise<{ url: string; secret: string } | undefined>;

export class CallbackOutbox {
  private readonly waiters = new Set<() => void>();
  private endpointLookup: EndpointLookup | undefined;

  constructor(private readonly ctx: CoreContext) {}

  /**
   * How a delivery to a webhook endpoint finds the endpoint as it is when sent (its URL and
   * secret may have changed, or it may be gone), not as it was when the event was queued.
   */
  resolveEndpointsWith(lookup: EndpointLookup): void {
    this.endpointLookup = lookup;
  }

  async enqueue(url: string, event: string, params: Record<string, string>): Promise<void> {
    await this.queue(url, event, new URLSearchParams(params).toString(), null, {});
  }

  /**
   * Queues a JSON POST. With an ordering key, the callback gets the next number of one
   * cluster-wide sequence, and waits until every earlier callback with its key is delivered or
   * given up on.
   */
  async enqueueJson(url: string, event: string, body: unknown, options: JsonCallbackOptions = {}): Promise<void> {
    await this.queue(url, event, JSON.stringify(body), 'application/json', options);
  }

  /**
   * Queues a JSON POST whose body is already serialized (an event delivered as it was logged),
   * in the caller's transaction `tx`, so it lands with what caused it or not at all. The caller
   * calls `notify()` once the transaction has committed.
   */
  async enqueueRawIn(tx: Repositories, url: string, event: string, json: string, options: JsonCallbackOptions = {}): Promise<void> {
    await tx.callbacks.insert(this.row(url, event, json, 'application/json', options, options.orderingKey === undefined ? null : await tx.sequences.next('callback_order')));
  }

  /** Wakes this node's dispatcher: callbacks were queued. */
  notify(): void {
    this.wake();
  }

  private row(url: string, event: string, body: string, contentType: string | null, options: JsonCallbackOptions, orderSeq: number | null) {
    const now = this.ctx.now();
    return {
      id: newId<'CallbackId'>(),
      url,
      body,
      event,
      attempts: 0,
      next_attempt_at: now,
      delivered_at: null,
      failed_at: null,
      last_error: null,
      created_at: now,
      content_type: contentType,
      headers: options.headers ? JSON.stringify(options.headers) : null,
      signing_secret: options.signingSecret ?? null,
      ordering_key: options.orderingKey ?? null,
      order_seq: orderSeq,
      endpoint_id: options.endpointId ?? null,
      signature_scheme: options.signatureScheme === 'mux' ? 'mux' : null,
    };
  }

  private async queue(url: string, event: string, body: string, contentType: string | null, options: JsonCallbackOptions): Promise<void> {
    const row = (orderSeq: number | null) => this.row(url, event, body, contentType, options, orderSeq);
    // Only an ordered callback needs a transaction: its number and its row land together.
    if (options.orderingKey === undefined) await this.ctx.store.callbacks.insert(row(null));
    else await this.ctx.store.transaction(async (tx) => tx.callbacks.insert(row(await tx.sequences.next('callback_order'))));
    this.wake();
  }

  private wake(): void {
    for (const wake of this.waiters) wake();
  }

  /** Calls `wake` whenever a callback is queued on this node, so a worker need not wait for its next poll. */
  onEnqueue(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  /**
   * Takes up to `limit` callbacks due now for this node to deliver: each is claimed for
   * CALLBACK_CLAIM_MS, so no other node sharing the database delivers it meanwhile. A node that
   * dies holding claims leaves them to lapse; another node then delivers those.
   */
  async due(limit = 20): Promise<OutgoingCallback[]> {
    const now = this.ctx.now();
    const until = new Date(Date.parse(now) + CALLBACK_CLAIM_MS).toISOString();
    const rows = await this.ctx.store.callbacks.claimDue(now, limit, until);
    const due: OutgoingCallback[] = [];
    for (const r of rows) {
      let url = r.url;
      let secret = r.signing_secret;
      if (r.endpoint_id !== null && this.endpointLookup) {
        const endpoint = await this.endpointLookup(r.endpoint_id);
        if (!endpoint) {
          await this.ctx.store.callbacks.gaveUp(r.id, Number(r.attempts), this.ctx.now(), 'the webhook endpoint was disabled or deleted');
          continue;
        }
        ({ url, secret } = endpoint);
      }
      due.push(this.toCallback({ ...r, url, signing_secret: secret }));
    }
    return due;
  }

  /**
   * In how many ms the next callback `due` would hand out comes due (0 or less: now, e.g. the
   * next of an ordering key once the one before it is done), or undefined when none waits.
   */
  async msUntilNextDue(): Promise<number | undefined> {
    const at = await this.ctx.store.callbacks.nextDueAt();
    return at === undefined ? undefined : Date.parse(at) - Date.parse(this.ctx.now());
  }

  private toCallback(r: CallbackRow): OutgoingCallback {
    return {
      id: r.id,
      url: r.url,
      body: r.body,
      contentType: r.content_type ?? FORM_CONTENT_TYPE,
      headers: r.headers ? (JSON.parse(r.headers) as Record<string, string>) : {},
      signingSecret: r.signing_secret,
      signatureScheme: r.signature_scheme === 'mux' ? ('mux' as const) : ('streamdelta' as const),
      endpointId: r.endpoint_id,
      event: r.event,
      attempts: Number(r.attempts),
    };
  }

  /** Logs one attempt (an endpoint's deliveries list shows them). */
  async attempted(callback: OutgoingCallback, outcome: AttemptOutcome): Promise<void> {
    await this.ctx.store.callbacks.recordAttempt({
      id: newId<'AttemptId'>(),
      callback_id: callback.id,
      endpoint_id: callback.endpointId,
      status_code: outcome.statusCode,
      duration_ms: Math.round(outcome.durationMs),
      error: outcome.error,
      at: this.ctx.now(),
    });
  }

  async delivered(callback: OutgoingCallback): Promise<void> {
    await this.ctx.store.callbacks.delivered(callback.id, this.ctx.now(), callback.attempts + 1);
  }

  /** Records a failed attempt: retried later, or given up after CALLBACK_MAX_ATTEMPTS (then true). */
  async failed(callback: OutgoingCallback, error: string): Promise<boolean> {
    const attempts = callback.attempts + 1;
    if (attempts >= CALLBACK_MAX_ATTEMPTS) {
      await this.ctx.store.callbacks.gaveUp(callback.id, attempts, this.ctx.now(), error);
      return true;
    }
    const next = new Date(Date.parse(this.ctx.now()) + callbackRetryDelay(attempts) * 1000).toISOString();
    await this.ctx.store.callbacks.retryLater(callback.id, attempts, next, error);
    return false;
  }
}
