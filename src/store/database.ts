import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from './schema.js';

/** An open database or a transaction on it: repositories work the same on both. */
export type Executor = Kysely<Database>;

/** Where the database lives: an SQLite file (the embedded default) or a PostgreSQL server. */
export type DatabaseLocation =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string };

export interface OpenedDatabase {
  db: Kysely<Database>;
  kind: DatabaseLocation['kind'];
  /**
   * A number that changes whenever another connection (another process: the CLI) commits a
   * write, read without a query where the database tells it cheaply (SQLite's data version);
   * undefined where it cannot be told so (PostgreSQL). Read once per turn of the event loop: a
   * commit of another process is seen from the next turn on.
   */
  foreignWriteMark: () => number | undefined;
}

/** The modes of the server's private folders and files (as blob/private-files.ts, which store/ may not import). */
const PRIVATE_DIRECTORY_MODE = 0o700;
const PRIVATE_FILE_MODE = 0o600;

/**
 * Makes the database file readable by the server's user alone before SQLite opens it: a new one
 * is created 0600 (in a 0700 folder), an existing one and its journal, WAL and shared-memory
 * files are tightened to 0600. SQLite gives the WAL and shared-memory files it creates later the
 * mode of the database file, so they are private as well.
 */
function preparePrivateFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  if (!existsSync(file)) closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  for (const path of [file, `${file}-journal`, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(path)) chmodSync(path, PRIVATE_FILE_MODE);
  }
}

export function openDatabase(location: DatabaseLocation): OpenedDatabase {
  if (location.kind === 'sqlite') {
    if (location.file !== ':memory:') preparePrivateFile(location.file);
    const sqlite = new SQLite(location.file);
    // WAL lets readers proceed while a write commits; foreign keys are off by default in SQLite.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    // Its own statement, prepared before the cache below shares statements by SQL text.
    const dataVersion = sqlite.prepare('PRAGMA data_version').pluck();
    cacheStatements(sqlite);
    // SQLite's data version changes when a commit of another connection is seen, never for this
    // one's own. Asked once per turn of the event loop: every cached read of every request asked
    // it (6 % of the thread serving HLS), while another process's commit reaches this one
    // through I/O, hence never in the middle of a turn that read before it.
    let mark: number | undefined;
    const forget = (): void => {
      mark = undefined;
    };
    return {
      db: new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }),
      kind: 'sqlite',
      foreignWriteMark: () => {
        if (!sqlite.open) return undefined;
        if (mark === undefined) {
          mark = dataVersion.get() as number;
          setImmediate(forget);
        }
        return mark;
      },
    };
  }
  const pool = new pg.Pool({ connectionString: location.url, max: 10 });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process. The next query reconnects.
  pool.on('error', () => {});
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), kind: 'postgres', foreignWriteMark: () => undefined };
}

/** Most distinct statements kept prepared; the program has a few hundred at most. */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * Kysely's SQLite driver prepares every query again each time it runs it; on the hot reads
 * (an agent asking for a stream's destinations) preparing costs about as much as running.
 * Prepared statements are reusable, so they are kept by SQL text.
 */
function cacheStatements(sqlite: SQLite.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, SQLite.Statement>();
  sqlite.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      statement = prepare(source);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
      cache.set(source, statement);
    }
    return statement;
  }) as typeof sqlite.prepare;
}

/** True when `err` is a unique-constraint violation on either database. */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** True when `err` is a foreign-key violation on either database (a row referred to is gone). */
export function isForeignKeyViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
