import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

export type SuspendResult = { kind: 'suspended'; at: number } | { kind: 'already-suspended'; at: number } | { kind: 'not-found' };
export type ResumeResult = { kind: 'resumed'; heldMs: number; released: number } | { kind: 'not-suspended' } | { kind: 'not-found' };

/** Persisted suspension: held deliveries burn no attempt and do not age towards expiry. */
export class SuspensionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async suspend(instanceId: number, now: number, reason: string): Promise<SuspendResult> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('instances').select(['suspended', 'suspended_at']).where('id', '=', instanceId).executeTakeFirst();
      if (!row) return { kind: 'not-found' };
      if (row.suspended === 1) return { kind: 'already-suspended', at: row.suspended_at ?? now };
      await trx.updateTable('instances').set({ suspended: 1, suspended_at: now, suspended_reason: reason }).where('id', '=', instanceId).execute();
      return { kind: 'suspended', at: now };
    });
  }

  async resume(instanceId: number, now: number): Promise<ResumeResult> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('instances').select(['suspended', 'suspended_at']).where('id', '=', instanceId).executeTakeFirst();
      if (!row) return { kind: 'not-found' };
      if (row.suspended !== 1) return { kind: 'not-suspended' };
      const heldMs = Math.max(0, now - (row.suspended_at ?? now));
      // The held time does not count towards expiry.
      await trx
        .updateTable('deliveries')
        .set({ expires_at: sql<number>`expires_at + ${heldMs}` })
        .where('instance_id', '=', instanceId)
        .where('state', 'in', ['scheduled', 'inflight'])
        .execute();
      const due = await trx
        .selectFrom('deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('instance_id', '=', instanceId)
        .where('state', '=', 'scheduled')
        .where('due_at', '<=', now)
        .executeTakeFirstOrThrow();
      await trx.updateTable('instances').set({ suspended: 0, suspended_at: null, suspended_reason: null }).where('id', '=', instanceId).execute();
      return { kind: 'resumed', heldMs, released: Number(due.n) };
    });
  }

  /** Every suspended instance, for nodes that watch suspensions made elsewhere. */
  async suspendedIds(): Promise<number[]> {
    const rows = await this.db.selectFrom('instances').select('id').where('suspended', '=', 1).execute();
    return rows.map((r) => r.id);
  }

  /** Deliveries waiting on a suspended instance. */
  async heldCount(instanceId: number): Promise<number> {
    const row = await this.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('instance_id', '=', instanceId)
      .where('state', '=', 'scheduled')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
