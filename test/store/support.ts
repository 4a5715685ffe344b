/** Helpers for the store's tests: a migrator of a test store, on its own PostgreSQL schema when there is one. */
import { Migrator, sql } from 'kysely';
import { migrationProvider } from '../../src/store/migrations/index.js';
import type { Store } from '../../src/store/store.js';

/** A migrator of the store's database that keeps its bookkeeping in the store's own schema (as Store.migrate does). */
export async function migratorOf(store: Store): Promise<Migrator> {
  const schema = store.kind === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(store.db)).rows[0]!.s : undefined;
  return new Migrator({ db: store.db, provider: migrationProvider, ...(schema ? { migrationTableSchema: schema } : {}) });
}
