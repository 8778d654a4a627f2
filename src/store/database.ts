import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import type pgModule from 'pg';
import { Kysely, Migrator, sql, PostgresDialect, SqliteDialect, type MigrationResult, type SqliteDatabase } from 'kysely';
import type { Database } from './schema.ts';
import type { DialectName } from './migrations/column-types.ts';
import { migrations } from './migrations/index.ts';
import { WalSync } from './wal-sync.ts';

export interface Store {
  db: Kysely<Database>;
  dialect: DialectName;
  /**
   * Runs a batch of writes (the spool's group commits, outcomes, claims) whose commit must
   * not hold the event loop while the disk syncs. SQLite: the batch commits without an
   * fsync of its own and the promise settles once its write-ahead log is fsynced off the
   * event loop (see WalSync), or at once when `durable` is false (claims: a lost one is
   * only claimed again). PostgreSQL commits asynchronously already: the work runs as is.
   */
  batch: BatchWriter;
  close(): Promise<void>;
}

export type BatchWriter = <T>(work: (db: Kysely<Database>) => Promise<T>, options?: { durable?: boolean }) => Promise<T>;

export interface StoreOptions {
  /** `postgres://…` for PostgreSQL, otherwise a SQLite file path. */
  url: string;
  /** PostgreSQL schema to use (created if missing); lets tests run side by side. */
  schema?: string;
  /**
   * SQLite only: hold the file for this process alone, so that a second mailshift on it
   * refuses to start instead of sharing a spool that only one process can claim safely.
   */
  exclusive?: boolean;
}

/** A SQLite spool another process holds: several nodes need PostgreSQL. */
export class StoreInUseError extends Error {
  override readonly name = 'StoreInUseError';
}

/** The PostgreSQL driver, loaded only when a PostgreSQL URL is given (a SQLite node never needs it). */
async function loadPg(): Promise<typeof pgModule> {
  const pg = (await import('pg')).default;
  // int8 (bigint) columns hold epoch milliseconds and ids: well inside 2^53.
  pg.types.setTypeParser(20, (v) => Number(v));
  return pg;
}

export async function openStore(options: StoreOptions): Promise<Store> {
  const store = isPostgresUrl(options.url) ? await openPostgres(options) : openSqlite(options.url, options.exclusive === true);
  const results = await migrate(store, options.schema);
  const failed = results.find((r) => r.status === 'Error');
  if (failed) {
    await store.close();
    throw new Error(`migration ${failed.migrationName} failed`);
  }
  return store;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

function openSqlite(path: string, exclusive: boolean): Store {
  if (path !== ':memory:') restrictFiles(path);
  const sqlite = new SQLite(path);
  try {
    configureSqlite(sqlite, exclusive);
  } catch (err) {
    sqlite.close();
    if (!exclusive || (err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    throw new StoreInUseError(
      `another mailshift process is using ${path}: a SQLite spool serves one process; to run several nodes, give them one PostgreSQL database (MAILSHIFT_DATABASE_URL=postgres://…)`,
    );
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  const wal = path === ':memory:' ? null : new WalSync(`${path}-wal`, path);
  const batch: BatchWriter = async (work, options) => {
    // One connection for the whole batch, so no other transaction commits while FULL is off.
    const result = await db.connection().execute(async (conn) => {
      await sql`pragma synchronous = NORMAL`.execute(conn);
      try {
        return await work(conn);
      } finally {
        await sql`pragma synchronous = FULL`.execute(conn);
      }
    });
    if (wal && options?.durable !== false) await wal.sync();
    return result;
  };
  return { db, dialect: 'sqlite', batch, close: async () => (await wal?.close(), await db.destroy()) };
}

/**
 * An exclusive connection takes the file's lock at its first write and keeps it until it
 * closes (the operating system drops it when the process dies, so a kill -9 leaves nothing
 * to clean up); another process waits the busy timeout for it, then is refused.
 */
function configureSqlite(sqlite: SQLite.Database, exclusive: boolean): void {
  // First: a process starting while the previous one is still exiting waits for its lock.
  sqlite.pragma('busy_timeout = 5000');
  // Before WAL is entered: an exclusive connection keeps its WAL index in its own memory.
  if (exclusive) sqlite.pragma('locking_mode = EXCLUSIVE');
  // Larger pages hold a message body in fewer overflow pages (only takes effect on a new file).
  sqlite.pragma('page_size = 16384');
  sqlite.pragma('journal_mode = WAL');
  // FULL: the WAL is fsynced at every commit, so what was acknowledged survives power loss.
  // The spool's batches lower it for their own commit and fsync off the event loop instead.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  // The claim's ranking sorts in temporary b-trees: in memory they cost a tenth of what
  // SQLite's default does (a pager of their own, set up and torn down at each claim).
  sqlite.pragma('temp_store = MEMORY');
  if (exclusive) sqlite.exec('BEGIN IMMEDIATE; COMMIT');
}

/**
 * The database holds every tenant's mail: only mailshift's user may read it. SQLite makes
 * its -wal and -shm files with the database file's permissions, so creating that file 0600
 * (and correcting an older, looser one) covers all three.
 */
function restrictFiles(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

/**
 * kysely prepares every query anew; the spool runs the same few statements thousands of
 * times a second, so prepared statements are kept (least recently used out first).
 */
function withStatementCache(sqlite: SQLite.Database, size = 256): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql);
      } else {
        statement = sqlite.prepare(sql);
        if (cache.size >= size) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}

async function openPostgres(options: StoreOptions): Promise<Store> {
  const pg = await loadPg();
  const schema = options.schema;
  if (schema) {
    const admin = new pg.Client({ connectionString: options.url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '')}"`);
    await admin.end();
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: 10,
    ...(schema ? { options: `-c search_path="${schema.replace(/"/g, '')}"` } : {}),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', batch: (work) => work(db), close: () => db.destroy() };
}

async function migrate(store: Store, schema?: string): Promise<MigrationResult[]> {
  const set = migrations(store.dialect);
  // Always named on PostgreSQL (the configured schema, else the connection's current one):
  // the migrator looks for its bookkeeping tables in every schema, so another schema of
  // the same database holding mailshift's tables would otherwise be taken for this one's.
  const bookkeeping = store.dialect === 'postgres' ? (schema?.replace(/"/g, '') ?? (await currentSchema(store))) : undefined;
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => set },
    ...(bookkeeping ? { migrationTableSchema: bookkeeping } : {}),
  });
  const { results, error } = await migrator.migrateToLatest();
  if (error) throw error;
  return results ?? [];
}

async function currentSchema(store: Store): Promise<string | undefined> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(store.db);
  return rows[0]?.schema ?? undefined;
}
