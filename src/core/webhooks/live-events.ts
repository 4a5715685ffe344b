import { ownerFilter, type AccountScope } from '../accounts/scope.js';
import { emit, type CoreContext } from '../kernel/context.js';
import type { AccountId } from '../kernel/ids.js';
import type { LoggedEvent, WebhookEndpointService } from './endpoints.js';

/** Days an event stays in the log (and a delivery attempt in an endpoint's list). */
export const LIVE_EVENT_RETENTION_DAYS = 7;
/** The log is pruned once every this many events. */
const PRUNE_EVERY = 500;

/** An event as the log keeps it: its place in the cluster-wide order, and what was delivered. */
export interface LogEntry extends LoggedEvent {
  seq: number;
  accountId: AccountId;
}

/**
 * The live API's events of each account, in the order they happened: each is kept (so an event
 * stream can resume from `Last-Event-ID`), queued to the account's webhooks, and announced on the
 * bus so every node's event streams send it at once.
 */
export class LiveEventLog {
  constructor(
    private readonly ctx: CoreContext,
    private readonly endpoints: WebhookEndpointService,
  ) {}

  /** Logs the event and queues its webhooks in one transaction: both land, or neither does. */
  async append(accountId: AccountId, event: LoggedEvent): Promise<void> {
    const seq = await this.ctx.store.transaction(async (tx) => {
      const next = await tx.sequences.next('live_event');
      await tx.liveEvents.insert({ seq: next, id: event.id, account_id: accountId, type: event.type, body: event.body, created_at: this.ctx.now() });
      await this.endpoints.deliverIn(tx, accountId, event);
      return next;
    });
    this.endpoints.notify();
    await emit(this.ctx, { type: 'live_event.logged', accountId, seq });
    if (seq % PRUNE_EVERY === 0) await this.prune();
  }

  /** Forgets events (and delivery attempts) older than the retention: the log is a window, not an archive. */
  private async prune(): Promise<void> {
    const before = new Date(Date.parse(this.ctx.now()) - LIVE_EVENT_RETENTION_DAYS * 86_400_000).toISOString();
    await this.ctx.store.liveEvents.deleteBefore(before);
    await this.ctx.store.callbacks.deleteAttemptsBefore(before);
  }

  /** The scope's events after `seq`, oldest first. */
  async after(scope: AccountScope, seq: number, limit: number): Promise<LogEntry[]> {
    return (await this.ctx.store.liveEvents.listAfter(ownerFilter(scope), seq, limit)).map((r) => ({
      seq: Number(r.seq),
      id: r.id,
      accountId: r.account_id as AccountId,
      type: r.type,
      body: r.body,
    }));
  }

  /** The newest event's place in the order (where a stream that asks for nothing old starts). */
  lastSeq(): Promise<number> {
    return this.ctx.store.liveEvents.lastSeq();
  }
}
