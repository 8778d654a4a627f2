import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Rate } from '../core/delivery/throttle.ts';
import type { DialectName } from './migrations/column-types.ts';
import type { Database } from './schema.ts';

/** What a statement on a shared bucket did: whole tokens granted (negative: given back) and what is left. */
export interface TokenGrant {
  granted: number;
  tokens: number;
}

// As in the local bucket: refill arithmetic is floating point, and 0.9999999 is a token.
const epsilon = 1e-9;

/** An empty claim is retried this often when it lost a race for a slot that was free. */
const slotAttempts = 3;

/**
 * Traffic-shaping limits shared by every node on one database, keyed `<infrastructureId>:<domain>`:
 * a token bucket per rate rule, from which nodes take grants of a few tokens, and numbered
 * connection slots that a node holds while a session is open. Each change is one statement,
 * atomic on its own, so nodes need no transaction and no lock between them; callers pass
 * `now` (epoch ms) from their own clock.
 */
export class LimitRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  /**
   * Refills the bucket for the time since it was last touched (up to `capacity`, which a
   * bucket seen for the first time starts at), then grants up to `wanted` whole tokens.
   */
  takeTokens(key: string, wanted: number, rate: Rate, capacity: number, now: number): Promise<TokenGrant> {
    return this.change(key, Math.max(0, Math.floor(wanted)), rate, capacity, now);
  }

  /** Puts back `count` unspent tokens of a grant; the bucket still holds no more than `capacity`. */
  async returnTokens(key: string, count: number, rate: Rate, capacity: number, now: number): Promise<void> {
    if (count >= 1) await this.change(key, -Math.floor(count), rate, capacity, now);
  }

  private async change(key: string, wanted: number, rate: Rate, capacity: number, now: number): Promise<TokenGrant> {
    const cap = sql`cast(${capacity} as double precision)`;
    const perMs = sql`cast(${rate.perMs} as double precision)`;
    const count = sql`cast(${rate.count} as double precision)`;
    const at = sql`cast(${now} as bigint)`;
    const want = sql`cast(${wanted} as integer)`;
    // The row's tokens refilled up to `now`; a clock behind the row's refills nothing.
    const refilled = this.least(cap, sql`b.tokens + ${this.greatest(sql`0`, sql`${at} - b.updated_at`)} * ${count} / ${perMs}`);
    const granted = sql`case when ${want} < 0 then ${want} else ${this.least(want, sql`floor(${refilled} + ${epsilon})`)} end`;
    const left = this.greatest(sql`0`, this.least(cap, sql`${refilled} - ${granted}`));
    const updated = this.greatest(sql`b.updated_at`, at);
    const fullAt = sql`${updated} + ceil((${cap} - ${left}) * ${perMs} / ${count})`;
    // A bucket not seen before (or pruned when it was full) starts full.
    const fresh = freshBucket(wanted, rate, capacity, now);
    const { rows } = await sql<TokenGrant>`
      insert into rate_budgets as b (key, tokens, granted, updated_at, full_at)
      values (${key}, ${fresh.tokens}, ${fresh.granted}, ${now}, ${fresh.fullAt})
      on conflict (key) do update set
        tokens = ${left},
        granted = cast(${granted} as integer),
        updated_at = ${updated},
        full_at = cast(${fullAt} as bigint)
      returning granted, tokens`.execute(this.db);
    const row = rows[0];
    return { granted: Number(row.granted), tokens: Number(row.tokens) };
  }

  /** Drops buckets that are full again (a fresh one starts full) and slots long expired. */
  async prune(now: number): Promise<{ budgets: number; slots: number }> {
    const budgets = await this.db.deleteFrom('rate_budgets').where('full_at', '<=', now).executeTakeFirst();
    const slots = await this.db.deleteFrom('connection_slots').where('expires_at', '<=', now).executeTakeFirst();
    return { budgets: Number(budgets.numDeletedRows), slots: Number(slots.numDeletedRows) };
  }

  /**
   * Takes a free slot of `key` for `nodeId` until `expiresAt`: one not held, or one whose
   * holder let it expire (a node that died). Null when `max` slots are held already. Nodes
   * start their search at different slot numbers, so that they seldom race for one.
   */
  async acquireSlot(key: string, max: number, nodeId: string, now: number, expiresAt: number): Promise<number | null> {
    if (max < 1) return null;
    const start = spread(nodeId, max);
    for (let attempt = 0; attempt < slotAttempts; attempt++) {
      const { rows } = await sql<{ slot: number }>`
        with recursive n(s) as (select 0 union all select s + 1 from n where s + 1 < cast(${max} as integer))
        insert into connection_slots (key, slot, node_id, expires_at)
        select cast(${key} as text), n.s, cast(${nodeId} as text), cast(${expiresAt} as bigint) from n
        where not exists (select 1 from connection_slots c where c.key = ${key} and c.slot = n.s and c.expires_at > ${now})
          and (select count(*) from connection_slots c where c.key = ${key} and c.expires_at > ${now}) < ${max}
        order by (n.s + cast(${max - start} as integer)) % cast(${max} as integer)
        limit 1
        on conflict (key, slot) do update set node_id = excluded.node_id, expires_at = excluded.expires_at
        where connection_slots.expires_at <= ${now}
        returning slot`.execute(this.db);
      if (rows.length > 0) return Number(rows[0].slot);
      // Empty: every slot is held, or another node took the one this statement chose.
      if ((await this.heldSlots(key, now)) >= max) return null;
    }
    return null;
  }

  /** Slots of `key` held now, by any node. */
  async heldSlots(key: string, now: number): Promise<number> {
    const row = await this.db
      .selectFrom('connection_slots')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('key', '=', key)
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Extends every slot `nodeId` still holds; returns those (a slot missing was taken over after it expired). */
  async renewSlots(nodeId: string, expiresAt: number): Promise<{ key: string; slot: number }[]> {
    const rows = await this.db
      .updateTable('connection_slots')
      .set({ expires_at: expiresAt })
      .where('node_id', '=', nodeId)
      .returning(['key', 'slot'])
      .execute();
    return rows.map((r) => ({ key: r.key, slot: Number(r.slot) }));
  }

  /** Gives slots of `key` back; a slot another node has taken over is left alone. */
  async releaseSlots(nodeId: string, key: string, slots: readonly number[]): Promise<void> {
    if (slots.length === 0) return;
    await this.db.deleteFrom('connection_slots').where('node_id', '=', nodeId).where('key', '=', key).where('slot', 'in', slots).execute();
  }

  /** Drops every slot of a node (one that stopped, or was found dead); returns how many. */
  async releaseNode(nodeId: string): Promise<number> {
    const result = await this.db.deleteFrom('connection_slots').where('node_id', '=', nodeId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  private least(a: RawBuilder<unknown>, b: RawBuilder<unknown>): RawBuilder<unknown> {
    return this.dialect === 'postgres' ? sql`least(${a}, ${b})` : sql`min(${a}, ${b})`;
  }

  private greatest(a: RawBuilder<unknown>, b: RawBuilder<unknown>): RawBuilder<unknown> {
    return this.dialect === 'postgres' ? sql`greatest(${a}, ${b})` : sql`max(${a}, ${b})`;
  }
}

/** The row a bucket seen for the first time gets: full, less what this statement grants. */
function freshBucket(wanted: number, rate: Rate, capacity: number, now: number): { tokens: number; granted: number; fullAt: number } {
  const granted = wanted < 0 ? wanted : Math.min(wanted, Math.floor(capacity + epsilon));
  const tokens = Math.max(0, Math.min(capacity, capacity - granted));
  return { tokens, granted, fullAt: now + Math.ceil(((capacity - tokens) * rate.perMs) / rate.count) };
}

/** Where a node starts looking for a free slot: spread over 0…max-1 by its id. */
function spread(nodeId: string, max: number): number {
  let h = 0;
  for (let i = 0; i < nodeId.length; i++) h = (h * 31 + nodeId.charCodeAt(i)) >>> 0;
  return h % max;
}
