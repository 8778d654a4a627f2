import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Guards the writes of work that must run once for the cluster (the leader's): `check`
 * runs first in the write's own transaction and throws `FencedError` when the writer no
 * longer holds the lease it acts under, so the transaction rolls back.
 */
export interface Fence {
  check(trx: Transaction<Database>): Promise<void>;
}

/** A write refused because its writer was deposed (or never elected). */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

/** For one process on its own database (SQLite), and for the writes of operators' requests. */
export const unfenced: Fence = { check: async () => undefined };

/** Runs `write` in a transaction that first passes `fence`. */
export function fenced<T>(db: Kysely<Database>, fence: Fence, write: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await fence.check(trx);
    return write(trx);
  });
}
