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
    return (await this.matchingMany([{ instanceId, addresses }])).get(instanceId) ?? new Map();
  }

  /**
   * `matching` for many instances at once, in one statement per 500 addresses (the accept
   * path asks for every message of a tick together): the suppressed addresses of each
   * instance asked about, lower-cased.
   */
  async matchingMany(asks: readonly { instanceId: number; addresses: readonly string[] }[]): Promise<Map<number, Map<string, string>>> {
    return suppressionsAmong(this.db, asks);
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

/** `matchingMany` on any handle, a transaction's too (the spool checks at commit where it must). */
export async function suppressionsAmong(
  db: Kysely<Database>,
  asks: readonly { instanceId: number; addresses: readonly string[] }[],
): Promise<Map<number, Map<string, string>>> {
  const found = new Map<number, Map<string, string>>();
  const wanted = new Map<number, Set<string>>();
  for (const ask of asks) {
    const set = wanted.get(ask.instanceId) ?? new Set<string>();
    for (const a of ask.addresses) set.add(a.toLowerCase());
    wanted.set(ask.instanceId, set);
    found.set(ask.instanceId, new Map());
  }
  const instances = [...wanted.keys()];
  const addresses = [...new Set([...wanted.values()].flatMap((set) => [...set]))];
  for (let i = 0; i < addresses.length; i += 500) {
    const rows = await db
      .selectFrom('suppressions')
      .select(['instance_id', 'address', 'reason'])
      .where('instance_id', 'in', instances)
      .where('address', 'in', addresses.slice(i, i + 500))
      .execute();
    // An address asked about for one instance may be suppressed for another: kept only where asked.
    for (const r of rows) if (wanted.get(r.instance_id)?.has(r.address)) found.get(r.instance_id)?.set(r.address, r.reason);
  }
  return found;
}
