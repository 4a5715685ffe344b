/** The outbox of callbacks and webhooks to deliver. */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../database.js';
import type { Database } from '../schema.js';

export type CallbackRow = Selectable<Database['callbacks']>;

export class CallbackRepository {
  constructor(private readonly db: Executor) {}

  async insert(row: Insertable<Database['callbacks']>): Promise<void> {
    await this.db.insertInto('callbacks').values(row).execute();
  }

  /**
   * Callbacks not yet delivered nor given up on, due at `now`, oldest first; of the callbacks
   * with one ordering key only the first still pending, so a later one waits for the earlier.
   */
  due(now: string, limit: number): Promise<CallbackRow[]> {
    return this.db
      .selectFrom('callbacks as c')
      .selectAll('c')
      .where('c.delivered_at', 'is', null)
      .where('c.failed_at', 'is', null)
      .where('c.next_attempt_at', '<=', now)
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
      )
      .orderBy('c.next_attempt_at')
      .orderBy('c.created_at')
      .limit(limit)
      .execute();
  }

  async delivered(id: string, at: string, attempts: number): Promise<void> {
    await this.db.updateTable('callbacks').set({ delivered_at: at, attempts, last_error: null }).where('id', '=', id).execute();
  }

  async retryLater(id: string, attempts: number, nextAttemptAt: string, error: string): Promise<void> {
    await this.db
      .updateTable('callbacks')
      .set({ attempts, next_attempt_at: nextAttemptAt, last_error: error })
      .where('id', '=', id)
      .execute();
  }

  async gaveUp(id: string, attempts: number, at: string, error: string): Promise<void> {
    await this.db.updateTable('callbacks').set({ attempts, failed_at: at, last_error: error }).where('id', '=', id).execute();
  }
}
