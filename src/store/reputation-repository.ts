import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

/** Counts of one hour, instance and infrastructure; a missing count is 0. */
export interface ReputationIncrement {
  hour: number;
  instanceId: number;
  infrastructureId: number;
  delivered?: number;
  hardBounced?: number;
  complained?: number;
  unsubscribed?: number;
}

export interface ReputationTotals {
  instanceId: number;
  infrastructureId: number;
  delivered: number;
  hardBounced: number;
  complained: number;
  unsubscribed: number;
}

const hourMs = 3_600_000;

export function hourOf(at: number): number {
  return at - (at % hourMs);
}

/** Reputation counts per hour: added to by every node (an upsert that adds), read as sums over a window. */
export class ReputationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(increments: ReputationIncrement[]): Promise<void> {
    if (increments.length === 0) return;
    await this.db.transaction().execute((trx) => addReputationCounts(trx, increments));
  }

  /** Sums per (instance, infrastructure) over the hours from `since`'s on. */
  async totals(since: number, instanceId?: number): Promise<ReputationTotals[]> {
    const rows = await this.db
      .selectFrom('reputation_counts')
      .select([
        'instance_id',
        'infrastructure_id',
        sql<number>`sum(delivered)`.as('delivered'),
        sql<number>`sum(hard_bounced)`.as('hard_bounced'),
        sql<number>`sum(complained)`.as('complained'),
        sql<number>`sum(unsubscribed)`.as('unsubscribed'),
      ])
      .where('hour', '>=', hourOf(since))
      .$if(instanceId !== undefined, (q) => q.where('instance_id', '=', instanceId!))
      .groupBy(['instance_id', 'infrastructure_id'])
      .execute();
    return rows.map((r) => ({
      instanceId: r.instance_id,
      infrastructureId: r.infrastructure_id,
      delivered: Number(r.delivered),
      hardBounced: Number(r.hard_bounced),
      complained: Number(r.complained),
      unsubscribed: Number(r.unsubscribed),
    }));
  }
}

/** Adds counts within the caller's transaction; rows of one key are merged first. */
export async function addReputationCounts(trx: Transaction<Database>, increments: ReputationIncrement[]): Promise<void> {
  const merged = new Map<string, Required<ReputationIncrement>>();
  for (const i of increments) {
    const key = `${i.hour}:${i.instanceId}:${i.infrastructureId}`;
    const m = merged.get(key) ?? { ...i, delivered: 0, hardBounced: 0, complained: 0, unsubscribed: 0 };
    m.delivered += i.delivered ?? 0;
    m.hardBounced += i.hardBounced ?? 0;
    m.complained += i.complained ?? 0;
    m.unsubscribed += i.unsubscribed ?? 0;
    merged.set(key, m);
  }
  // Sorted, so two nodes adding to the same rows lock them in the same order.
  const rows = [...merged.values()].sort((a, b) => a.hour - b.hour || a.instanceId - b.instanceId || a.infrastructureId - b.infrastructureId);
  for (let i = 0; i < rows.length; i += 500) {
    await trx
      .insertInto('reputation_counts')
      .values(
        rows.slice(i, i + 500).map((r) => ({
          hour: r.hour,
          instance_id: r.instanceId,
          infrastructure_id: r.infrastructureId,
          delivered: r.delivered,
          hard_bounced: r.hardBounced,
          complained: r.complained,
          unsubscribed: r.unsubscribed,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['hour', 'instance_id', 'infrastructure_id']).doUpdateSet({
          delivered: sql`reputation_counts.delivered + excluded.delivered`,
          hard_bounced: sql`reputation_counts.hard_bounced + excluded.hard_bounced`,
          complained: sql`reputation_counts.complained + excluded.complained`,
          unsubscribed: sql`reputation_counts.unsubscribed + excluded.unsubscribed`,
        }),
      )
      .execute();
  }
}
