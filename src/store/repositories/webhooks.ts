/** The outbox of callbacks and webhooks to deliver, each attempt at it, the live API's webhook endpoints and event log. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database } from '../schema.js';

export type CallbackRow = Selectable<Database['callbacks']>;
export type CallbackAttemptRow = Selectable<Database['callback_attempts']>;
export type WebhookEndpointRow = Selectable<Database['webhook_endpoints']>;
export type LiveEventRow = Selectable<Database['live_events']>;

export class CallbackRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['callbacks']>): Promise<void> {
    await this.db.insertInto('callbacks').values(row).execute();
  }

  /**
   * Claims until `until` the callbacks not yet delivered nor given up on, due at `now` and free
   * (never claimed, or the claim lapsed: its node died mid-delivery), at most `limit` of them;
   * of the callbacks with one ordering key only the first still pending, so a later one waits
   * for the earlier. Returned oldest first.
   *
   * One UPDATE, so that nodes claiming at the same moment never take the same callback: SQLite
   * runs one writer at a time, and PostgreSQL, when it finds a row another transaction just
   * claimed, waits for it and checks the row's claim again, and skips it.
   */
  async claimDue(now: string, limit: number, until: string): Promise<CallbackRow[]> {
    const candidates = this.waiting()
      .select('c.id')
      .where('c.next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('c.claimed_until', 'is', null), eb('c.claimed_until', '<=', now)]))
      .orderBy('c.next_attempt_at')
      .orderBy('c.created_at')
      .limit(limit);
    const rows = await this.db
      .updateTable('callbacks')
      .set({ claimed_until: until })
      .where('id', 'in', candidates)
      .where('delivered_at', 'is', null)
      .where('failed_at', 'is', null)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
      .returningAll()
      .execute();
    return rows.sort((a, b) => (a.next_attempt_at === b.next_attempt_at ? a.created_at.localeCompare(b.created_at) : a.next_attempt_at.localeCompare(b.next_attempt_at)));
  }

  /**
   * When the next callback claimDue would take comes due (it may be past): its next attempt, or
   * the end of another node's claim on it; undefined when none is waiting. How long a delivery
   * worker may sleep.
   */
  async nextDueAt(): Promise<string | undefined> {
    const row = await this.waiting()
      .select((eb) => eb.case().when('c.claimed_until', '>', eb.ref('c.next_attempt_at')).then(eb.ref('c.claimed_until')).else(eb.ref('c.next_attempt_at')).end().as('due_at'))
      .orderBy('due_at')
      .limit(1)
      .executeTakeFirst();
    return row?.due_at ?? undefined;
  }

  /** Callbacks neither delivered nor given up on; of those with one ordering key, only the first. */
  private waiting() {
    return this.db
      .selectFrom('callbacks as c')
      .where('c.delivered_at', 'is', null)
      .where('c.failed_at', 'is', null)
      .where((eb) =>
        eb.or([
          eb('c.ordering_key', 'is', null),
          eb.not(
            eb.exists(
              eb
                .selectFrom('callbacks as p')
                .select('p.id')
                .whereRef('p.ordering_key', '=', 'c.ordering_key')
                .where('p.delivered_at', 'is', null)
                .where('p.failed_at', 'is', null)
                .whereRef('p.order_seq', '<', 'c.order_seq'),
            ),
          ),
        ]),
      );
  }

  async delivered(id: string, at: string, attempts: number): Promise<void> {
    await this.db.updateTable('callbacks').set({ delivered_at: at, attempts, last_error: null, claimed_until: null }).where('id', '=', id).execute();
  }

  async retryLater(id: string, attempts: number, nextAttemptAt: string, error: string): Promise<void> {
    await this.db
      .updateTable('callbacks')
      .set({ attempts, next_attempt_at: nextAttemptAt, last_error: error, claimed_until: null })
      .where('id', '=', id)
      .execute();
  }

  async gaveUp(id: string, attempts: number, at: string, error: string): Promise<void> {
    await this.db.updateTable('callbacks').set({ attempts, failed_at: at, last_error: error, claimed_until: null }).where('id', '=', id).execute();
  }

  find(id: string): Promise<CallbackRow | undefined> {
    return this.db.selectFrom('callbacks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async recordAttempt(row: Insertable<Database['callback_attempts']>): Promise<void> {
    await this.db.insertInto('callback_attempts').values(row).execute();
  }

  async deleteAttemptsBefore(at: string): Promise<void> {
    await this.db.deleteFrom('callback_attempts').where('at', '<', at).execute();
  }

  findAttempt(id: string): Promise<CallbackAttemptRow | undefined> {
    return this.db.selectFrom('callback_attempts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The attempts at an endpoint's deliveries, newest first. */
  listAttempts(endpointId: string, limit: number, offset: number): Promise<(CallbackAttemptRow & { event: string; body: string })[]> {
    return this.db
      .selectFrom('callback_attempts as a')
      .innerJoin('callbacks as c', 'c.id', 'a.callback_id')
      .selectAll('a')
      .select(['c.event', 'c.body'])
      .where('a.endpoint_id', '=', endpointId)
      .orderBy('a.at', 'desc')
      .orderBy('a.id', 'desc')
      .limit(limit)
      .offset(offset)
      .execute();
  }

  /** Forgets what is still to be delivered to an endpoint (it was deleted). */
  async dropPendingFor(endpointId: string, at: string): Promise<void> {
    await this.db
      .updateTable('callbacks')
      .set({ failed_at: at, last_error: 'the webhook endpoint was deleted' })
      .where('endpoint_id', '=', endpointId)
      .where('delivered_at', 'is', null)
      .where('failed_at', 'is', null)
      .execute();
  }
}

export class WebhookEndpointRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['webhook_endpoints']>): Promise<void> {
    await this.db.insertInto('webhook_endpoints').values(row).execute();
  }

  find(id: string): Promise<WebhookEndpointRow | undefined> {
    return this.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Endpoints of one account (or of all, `accountId` null), oldest first. */
  list(accountId: string | null): Promise<WebhookEndpointRow[]> {
    let query = this.db.selectFrom('webhook_endpoints').selectAll();
    if (accountId !== null) query = query.where('account_id', '=', accountId);
    return query.orderBy('created_at').orderBy('id').execute();
  }

  /** The enabled endpoints that get an account's events: its own, and every administrator's. */
  listForDelivery(accountId: string): Promise<WebhookEndpointRow[]> {
    return this.db
      .selectFrom('webhook_endpoints as e')
      .leftJoin('accounts as a', 'a.id', 'e.account_id')
      .selectAll('e')
      .where('e.enabled', '=', 1)
      .where((eb) => eb.or([eb('e.account_id', '=', accountId), eb('a.is_admin', '=', 1)]))
      .orderBy('e.created_at')
      .execute();
  }

  async countOwned(accountId: string): Promise<number> {
    const row = await this.db
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(id: string, changes: { url?: string; enabled?: 0 | 1; events?: string | null }): Promise<void> {
    await this.db.updateTable('webhook_endpoints').set(changes).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
  }
}

export class LiveEventRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['live_events']>): Promise<void> {
    await this.db.insertInto('live_events').values(row).execute();
  }

  /** Events after `afterSeq`, oldest first: of one account, or of all (`accountId` null). */
  listAfter(accountId: string | null, afterSeq: number, limit: number): Promise<LiveEventRow[]> {
    let query = this.db.selectFrom('live_events').selectAll().where('seq', '>', afterSeq);
    if (accountId !== null) query = query.where('account_id', '=', accountId);
    return query.orderBy('seq').limit(limit).execute();
  }

  async deleteBefore(at: string): Promise<void> {
    await this.db.deleteFrom('live_events').where('created_at', '<', at).execute();
  }

  /** The number of the newest event, 0 when there is none. */
  async lastSeq(): Promise<number> {
    const row = await this.db.selectFrom('live_events').select((eb) => eb.fn.max('seq').as('top')).executeTakeFirst();
    return Number(row?.top ?? 0);
  }
}
