/** Installation settings (secrets made on first use) and integer sequences for the dialects' numeric ids. */
import type { Executor } from '../database.js';

export class SettingsRepository {
  constructor(private readonly db: Executor) {}

  async get(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  /** Stores `value` unless the key is already set, and returns what is stored: the first writer wins. */
  async delete(key: string): Promise<void> {
    await this.db.deleteFrom('settings').where('key', '=', key).execute();
  }

  async getOrInit(key: string, value: string): Promise<string> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const stored = await this.get(key);
    if (stored === undefined) throw new Error(`setting ${key} vanished after it was written`);
    return stored;
  }
}

export class SequenceRepository {
  constructor(private readonly db: Executor) {}

  /** The next number of a named sequence; the row lock makes concurrent callers take turns. */
  async next(name: string): Promise<number> {
    const row = await this.db
      .updateTable('id_sequences')
      .set((eb) => ({ value: eb('value', '+', 1) }))
      .where('name', '=', name)
      .returning('value')
      .executeTakeFirstOrThrow();
    return Number(row.value);
  }
}
