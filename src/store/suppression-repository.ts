import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface Suppression {
  address: string;
  reason: string;
  createdAt: number;
}

export class SuppressionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async list(instanceId: number): Promise<Suppression[]> {
    const rows = await this.db.selectFrom('suppressions').selectAll().where('instance_id', '=', instanceId).orderBy('address').execute();
    return rows.map((r) => ({ address: r.address, reason: r.reason, createdAt: r.created_at }));
  }

  /** The subset of `addresses` suppressed for the instance (lower-cased). */
  async matching(instanceId: number, addresses: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const lower = [...new Set(addresses.map((a) => a.toLowerCase()))];
    for (let i = 0; i < lower.length; i += 500) {
      const rows = await this.db
        .selectFrom('suppressions')
        .select(['address', 'reason'])
        .where('instance_id', '=', instanceId)
        .where('address', 'in', lower.slice(i, i + 500))
        .execute();
      for (const r of rows) found.set(r.address, r.reason);
    }
    return found;
  }

  async add(instanceId: number, address: string, reason: string, now: number): Promise<boolean> {
    const result = await this.db
      .insertInto('suppressions')
      .values({ instance_id: instanceId, address: address.toLowerCase(), reason, created_at: now })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async remove(instanceId: number, address: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('suppressions')
      .where('instance_id', '=', instanceId)
      .where('address', '=', address.toLowerCase())
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
