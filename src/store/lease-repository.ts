import type { Kysely, Transaction } from 'kysely';
import type { DialectName } from './migrations/column-types.ts';
import type { Database } from './schema.ts';

/** A lease held: its holder and the epoch it was taken with. */
export interface LeaseTerm {
  holder: string;
  epoch: number;
}

export interface LeaseState extends LeaseTerm {
  expiresAt: number;
}

/**
 * Named leases with a fencing epoch. Taking a lease that expired (or was never taken)
 * raises its epoch; renewing keeps it. A write made under a lease checks, in its own
 * transaction, that the lease still has the writer's term: a deposed holder's late write
 * is refused (see fence.ts).
 */
export class LeaseRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  /** Takes the lease if it is free or expired; returns the new term, or null while another holds it. */
  async acquire(name: string, holder: string, now: number, ttlMs: number): Promise<LeaseTerm | null> {
    const row = await this.db
      .insertInto('leases')
      .values({ name, holder, epoch: 1, expires_at: now + ttlMs })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet((eb) => ({ holder, epoch: eb(eb.ref('leases.epoch'), '+', 1), expires_at: now + ttlMs }))
          .where('leases.expires_at', '<', now),
      )
      .returning('epoch')
      .executeTakeFirst();
    return row ? { holder, epoch: Number(row.epoch) } : null;
  }

  /** Extends the lease while it still has this term; false when it was lost. */
  async renew(name: string, term: LeaseTerm, now: number, ttlMs: number): Promise<boolean> {
    const r = await this.db
      .updateTable('leases')
      .set({ expires_at: now + ttlMs })
      .where('name', '=', name)
      .where('holder', '=', term.holder)
      .where('epoch', '=', term.epoch)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Gives the lease up at once (a clean stop), so another may take it without waiting. */
  async release(name: string, term: LeaseTerm): Promise<void> {
    await this.db
      .updateTable('leases')
      .set({ expires_at: 0 })
      .where('name', '=', name)
      .where('holder', '=', term.holder)
      .where('epoch', '=', term.epoch)
      .execute();
  }

  async current(name: string): Promise<LeaseState | undefined> {
    const row = await this.db.selectFrom('leases').selectAll().where('name', '=', name).executeTakeFirst();
    return row && { holder: row.holder, epoch: Number(row.epoch), expiresAt: row.expires_at };
  }

  /**
   * Whether the lease still has `term`, read inside `trx`. On PostgreSQL the row is locked
   * for share, so a takeover waits until the checked write has committed, and a write that
   * checks after it sees the new epoch.
   */
  async holds(trx: Transaction<Database>, name: string, term: LeaseTerm): Promise<boolean> {
    let q = trx.selectFrom('leases').select(['holder', 'epoch']).where('name', '=', name);
    if (this.dialect === 'postgres') q = q.forShare();
    const row = await q.executeTakeFirst();
    return row !== undefined && row.holder === term.holder && Number(row.epoch) === term.epoch;
  }
}
