import { ownerFilter, type AccountScope } from '../accounts/scope.js';
import { emit, type CoreContext } from '../kernel/context.js';
import type { AccountId } from '../kernel/ids.js';
import type { LoggedEvent, WebhookEndpointService } from './endpoints.js';

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

  async append(accountId: AccountId, event: LoggedEvent): Promise<void> {
    const seq = await this.ctx.store.transaction(async (tx) => {
      const next = await tx.sequences.next('live_event');
      await tx.liveEvents.insert({ seq: next, id: event.id, account_id: accountId, type: event.type, body: event.body, created_at: this.ctx.now() });
      return next;
    });
    await this.endpoints.deliver(accountId, event);
    await emit(this.ctx, { type: 'live_event.logged', accountId, seq });
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
