import { sql, type ExpressionBuilder, type Insertable, type Kysely, type Transaction } from 'kysely';
import type { BounceCategory } from '../core/delivery/bounce-rules.ts';
import type { DeliveryCategory, DeliveryState } from '../core/spool/delivery-states.ts';
import type { Database, DeliveryTable } from './schema.ts';
import type { DialectName } from './migrations/column-types.ts';
import { eventRow as event, insertEvents } from './event-repository.ts';
import { suppressionsAmong } from './suppression-repository.ts';
import type { BatchWriter } from './database.ts';

export interface NewMessage {
  id: string;
  instanceId: number;
  mailFrom: string;
  raw: Buffer;
  headerMessageId: string | null;
  /** Each delivery carries one-click List-Unsubscribe. */
  listUnsubscribe?: boolean;
  /** `given`: the address as the client wrote it, where that differs (an IDN's U-label form). */
  recipients: { address: string; domain: string; suppressed: string | null; given?: string }[];
  idempotency?: { key: string; requestHash: string; response: string };
  /**
   * The recipients' suppressions are not looked up yet: `commit` looks each up (in either
   * form) as it writes, on PostgreSQL within the same statement, so a door whose answer
   * never names them (SMTP's 250) costs no round trip for it.
   */
  suppressionsUnchecked?: boolean;
}

/** A suppressed delivery's reply (and its event's reason). */
export function suppressionReply(reason: string): string {
  return `suppressed: ${reason}`;
}

export interface ClaimedDelivery {
  id: number;
  messageId: string;
  instanceId: number;
  infrastructureId: number;
  recipient: string;
  domain: string;
  attempts: number;
  createdAt: number;
  expiresAt: number;
  /** The claim's holder: only it may record an outcome for or release this delivery. */
  owner: string;
}

/** What one claim may take: shares per instance and destination, and what to leave out. */
export interface ClaimFairness {
  /** At most this many deliveries of one instance in this claim. */
  perInstance?: number;
  /** At most this many for one destination (infrastructure, domain) in this claim. */
  perDestination?: number;
  skipInstances?: readonly number[];
  skipDestinations?: readonly { infrastructureId: number; domain: string }[];
}

export type Outcome = (
  | { kind: 'delivered'; delivery: ClaimedDelivery; reply: string; at: number }
  | { kind: 'deferred'; delivery: ClaimedDelivery; reply: string; category: BounceCategory; at: number; retryAt: number }
  | { kind: 'bounced'; delivery: ClaimedDelivery; reply: string; category: BounceCategory; at: number; suppress: boolean }
  | { kind: 'expired'; delivery: ClaimedDelivery; reply: string; category: BounceCategory; at: number }
) & {
  /** The attempt's session: its TLS protocol and whether the certificate was verified; null in plaintext; absent with no session. */
  tls?: { version: string; verified: boolean } | null;
};

const chunk = 500;
/** How long after acceptance only the accepting node claims a delivery (each node holds the bodies it accepted). */
export const claimAffinityMs = 250;
/** Due deliveries a claim ranks at least (see claim). */
const candidateWindow = 2000;

/**
 * The spool: messages stored once, one delivery row per recipient, leased claims. The
 * writes that must be one commit with other records stay here: accepting writes the
 * message, its deliveries, their events and the idempotency key; recording an outcome
 * writes the delivery, its event and an automatic suppression.
 */
export class SpoolRepository {
  /** `node`: in a cluster, this node's id, recorded on the deliveries it accepts (see `claim`). */
  /** `batch`: how the store commits a group without holding the event loop for the disk (see Store.batch). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
    private readonly node?: string,
    private readonly batch: BatchWriter = (work) => work(db),
  ) {}

  /** Commits many accepted messages in one transaction (group commit). */
  async commit(messages: NewMessage[], now: number, expiresAt: number): Promise<void> {
    if (messages.length === 0) return;
    // The one statement needs a delivery row to insert: VALUES cannot be empty.
    if (this.dialect === 'postgres' && messages.some((m) => m.recipients.length > 0) && statementParameters(messages) <= maxStatementParameters) {
      await commitAtOnce(this.db, messages, now, expiresAt, this.node);
      return;
    }
    await this.batch((db) =>
      db.transaction().execute(async (trx) => {
        const rows = acceptedRows(await withSuppressions(trx, messages), now, expiresAt, this.node);
        for (let i = 0; i < rows.messages.length; i += 100) {
          await trx
            .insertInto('messages')
            .values(rows.messages.slice(i, i + 100))
            .execute();
        }
        for (let i = 0; i < rows.deliveries.length; i += chunk) {
          await trx
            .insertInto('deliveries')
            .values(rows.deliveries.slice(i, i + chunk))
            .execute();
        }
        await insertEvents(trx, rows.events);
        // A key already stored aborts the whole commit: the same request was accepted
        // meanwhile (another process), and the caller replays that answer instead.
        if (rows.keys.length > 0) await trx.insertInto('idempotency_keys').values(rows.keys).execute();
      }),
    );
  }

  /**
   * Leases up to `limit` due deliveries of instances that are not suspended. An expired
   * lease (a worker that died) makes its delivery due again, so nothing stays locked.
   *
   * Fair: deliveries are ranked within their instance and within their destination
   * (infrastructure, domain), and taken rank by rank, so one instance's 100,000 due
   * deliveries take one place per round like everybody else's. `skip` leaves out
   * instances and destinations the caller holds enough of (or knows to be down).
   */
  async claim(now: number, limit: number, owner: string, leaseMs: number, fairness: ClaimFairness = {}): Promise<ClaimedDelivery[]> {
    const perInstance = fairness.perInstance ?? limit;
    const perDestination = fairness.perDestination ?? limit;
    const skipInstances = fairness.skipInstances ?? [];
    const skipDestinations = fairness.skipDestinations ?? [];
    if (this.dialect === 'postgres') return this.claimAtOnce(now, limit, owner, leaseMs, { perInstance, perDestination, skipInstances, skipDestinations });
    // Not waited for on disk: a claim lost with the power is only claimed again.
    return this.batch(
      (db) =>
        db.transaction().execute(async (trx) => {
          const picked = this.picked(trx, now, limit, { perInstance, perDestination, skipInstances, skipDestinations, owner });
          const q = trx
            .selectFrom('deliveries as d')
            .innerJoin('instances as i', 'i.id', 'd.instance_id')
            .select(['d.id', 'd.message_id', 'd.instance_id', 'i.infrastructure_id', 'd.recipient', 'd.domain', 'd.attempts', 'd.created_at', 'd.expires_at'])
            .where('d.id', 'in', picked)
            // Checked again on the locked row: another worker may have claimed it meanwhile.
            .where('d.state', 'in', ['scheduled', 'inflight'])
            .where('d.due_at', '<=', now);
          const rows = await q.execute();
          if (rows.length === 0) return [];
          const ids = rows.map((r) => r.id);
          for (let i = 0; i < ids.length; i += chunk) {
            await trx
              .updateTable('deliveries')
              .set({ state: 'inflight', due_at: now + leaseMs, lease_owner: owner, updated_at: now })
              .where('id', 'in', ids.slice(i, i + chunk))
              .execute();
          }
          return rows.map((r) => claimed(r, owner));
        }),
      { durable: false },
    );
  }

  /**
   * PostgreSQL: the claim as one statement — the ranked pick, locked with SKIP LOCKED (a row
   * another node holds is passed over, one it claimed meanwhile fails the re-check) and
   * leased — instead of a transaction of four.
   */
  private async claimAtOnce(now: number, limit: number, owner: string, leaseMs: number, fairness: Required<ClaimFairness>): Promise<ClaimedDelivery[]> {
    const locked = this.db
      .selectFrom('deliveries as x')
      .select('x.id')
      .where('x.id', 'in', this.picked(this.db, now, limit, { ...fairness, owner }))
      .where('x.state', 'in', ['scheduled', 'inflight'])
      .where('x.due_at', '<=', now)
      .forUpdate()
      .skipLocked();
    const rows = await this.db
      .updateTable('deliveries as d')
      .from('instances as i')
      .set({ state: 'inflight', due_at: now + leaseMs, lease_owner: owner, updated_at: now })
      .whereRef('i.id', '=', 'd.instance_id')
      .where('d.id', 'in', locked)
      .returning(['d.id', 'd.message_id', 'd.instance_id', 'i.infrastructure_id', 'd.recipient', 'd.domain', 'd.attempts', 'd.created_at', 'd.expires_at'])
      .execute();
    return rows.map((r) => claimed(r, owner));
  }

  /** The ids a claim takes, fairly ranked (see `claim`). */
  private picked(qb: Kysely<Database>, now: number, limit: number, fairness: Required<ClaimFairness> & { owner: string }) {
    const { perInstance, perDestination, skipInstances, skipDestinations, owner } = fairness;
    // The oldest due deliveries of instances not suspended or skipped, found in due order
    // (deliveries_due) and no more than a few claims' worth: the ranking below then costs
    // the same whatever the backlog. An instance whose backlog fills this window alone is
    // skipped by the engine once it holds its share, so the others' turn comes next claim.
    // The cross join keeps SQLite from scanning instances and searching the due range for each.
    const candidates = qb
      .selectFrom('deliveries as d')
      .crossJoin('instances as i')
      .whereRef('i.id', '=', 'd.instance_id')
      .select(['d.id', 'd.due_at', 'd.domain', 'd.instance_id', 'i.infrastructure_id'])
      .where('d.state', 'in', ['scheduled', 'inflight'])
      .where('d.due_at', '<=', now)
      // Just accepted by another node, which holds the body in memory: its turn first, briefly.
      .where((eb) => eb.or([eb('d.accepted_by', 'is', null), eb('d.accepted_by', '=', owner), eb('d.due_at', '<=', now - claimAffinityMs)]))
      .where('i.suspended', '=', 0)
      .$if(skipInstances.length > 0, (q) => q.where('d.instance_id', 'not in', skipInstances))
      .$if(skipDestinations.length > 0, (q) =>
        q.where(({ and, or, not, eb }) =>
          not(or(skipDestinations.map((s) => and([eb('i.infrastructure_id', '=', s.infrastructureId), eb('d.domain', '=', s.domain)])))),
        ),
      )
      .orderBy('d.due_at')
      .limit(Math.max(limit * 4, candidateWindow));
    const byInstance = qb
      .selectFrom(candidates.as('c'))
      .select([
        'c.id',
        'c.due_at',
        'c.domain',
        'c.infrastructure_id',
        sql<number>`row_number() over (partition by c.instance_id order by c.due_at, c.id)`.as('instance_rank'),
      ]);
    // Within a destination the instances take turns too (ranked by their own rank first),
    // so two tenants sending to the same domain share its places.
    const ranked = qb
      .selectFrom(byInstance.as('b'))
      .select([
        'b.id',
        'b.due_at',
        'b.instance_rank',
        sql<number>`row_number() over (partition by b.infrastructure_id, b.domain order by b.instance_rank, b.due_at, b.id)`.as('destination_rank'),
      ]);
    const picked = qb
      .selectFrom(ranked.as('r'))
      .select('r.id')
      .where('r.instance_rank', '<=', perInstance)
      .where('r.destination_rank', '<=', perDestination)
      .orderBy('r.instance_rank')
      .orderBy('r.due_at')
      .limit(limit);
    return picked;
  }

  /**
   * Hands claimed deliveries back without an attempt, due again at `dueAt` (a destination
   * marked down): they wait in the spool, not in memory.
   */
  async postpone(ids: number[], owner: string, now: number, dueAt: number): Promise<void> {
    for (let i = 0; i < ids.length; i += chunk) {
      await this.db
        .updateTable('deliveries')
        .set({ state: 'scheduled', due_at: dueAt, lease_owner: null, updated_at: now })
        .where('id', 'in', ids.slice(i, i + chunk))
        .where('state', '=', 'inflight')
        .where('lease_owner', '=', owner)
        .execute();
    }
  }

  async loadMessage(id: string): Promise<{ mailFrom: string; raw: Buffer; createdAt: number; listUnsubscribe: boolean } | undefined> {
    const row = await this.db.selectFrom('messages').select(['mail_from', 'raw', 'created_at', 'list_unsubscribe']).where('id', '=', id).executeTakeFirst();
    return row && { mailFrom: row.mail_from, raw: Buffer.from(row.raw), createdAt: row.created_at, listUnsubscribe: row.list_unsubscribe === 1 };
  }

  /**
   * Records attempt outcomes, their events and automatic suppressions in one transaction.
   * An outcome whose claim was lost (its lease expired and another worker took the
   * delivery) is dropped: the current holder's outcome is the one that counts.
   */
  async record(outcomes: Outcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const suppressing = outcomes.some((o) => o.kind === 'bounced' && o.suppress);
    // One statement is atomic on its own; suppressions (hard bounces, rare) need a transaction.
    if (this.dialect === 'postgres' && !suppressing) {
      await recordAtOnce(this.db, outcomes);
      return;
    }
    await this.batch((db) =>
      db.transaction().execute(async (trx) => {
        const kept = this.dialect === 'postgres' ? await recordAtOnce(trx, outcomes) : await recordOneByOne(trx, outcomes);
        for (const o of kept) {
          if (o.kind !== 'bounced' || !o.suppress) continue;
          await trx
            .insertInto('suppressions')
            .values({
              instance_id: o.delivery.instanceId,
              address: o.delivery.recipient.toLowerCase(),
              reason: `bounce: ${o.category}: ${o.reply}`.slice(0, 500),
              created_at: o.at,
            })
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
      }),
    );
  }

  /**
   * Hands claimed deliveries back without an attempt (shutdown, suspension, a destination
   * whose slots other nodes hold), due at once in their place (see `handedBack`).
   */
  async release(ids: number[], owner: string, now: number): Promise<void> {
    for (let i = 0; i < ids.length; i += chunk) {
      await this.db
        .updateTable('deliveries')
        .set(handedBack(now))
        .where('id', 'in', ids.slice(i, i + chunk))
        .where('state', '=', 'inflight')
        .where('lease_owner', '=', owner)
        .execute();
    }
  }

  /** Extends the leases of claims this owner still holds. */
  async renew(ids: number[], owner: string, until: number): Promise<void> {
    for (let i = 0; i < ids.length; i += chunk) {
      await this.db
        .updateTable('deliveries')
        .set({ due_at: until })
        .where('id', 'in', ids.slice(i, i + chunk))
        .where('state', '=', 'inflight')
        .where('lease_owner', '=', owner)
        .execute();
    }
  }

  /** Owners of claims in flight whose names start with `prefix` (this host's processes). */
  async inflightOwners(prefix: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('deliveries')
      .select('lease_owner')
      .distinct()
      .where('state', '=', 'inflight')
      .where('lease_owner', 'like', `${prefix}%`)
      .execute();
    return rows.map((r) => r.lease_owner!).filter(Boolean);
  }

  /** Hands back every claim of owners known to be dead, without waiting for their leases (see `handedBack`). */
  async releaseOwners(owners: string[], now: number): Promise<number> {
    if (owners.length === 0) return 0;
    const r = await this.db
      .updateTable('deliveries')
      .set(handedBack(now))
      .where('state', '=', 'inflight')
      .where('lease_owner', 'in', owners)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async countInflight(instanceId: number): Promise<number> {
    const row = await this.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('instance_id', '=', instanceId)
      .where('state', '=', 'inflight')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Counts per delivery state, per instance. */
  async queueCounts(): Promise<{ instanceId: number; state: DeliveryState; count: number }[]> {
    const rows = await this.db
      .selectFrom('deliveries')
      .select(['instance_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['instance_id', 'state'])
      .execute();
    return rows.map((r) => ({ instanceId: r.instance_id, state: r.state, count: Number(r.n) }));
  }

  async findMessage(
    id: string,
  ): Promise<{ id: string; instanceId: number; mailFrom: string; size: number; headerMessageId: string | null; createdAt: number } | undefined> {
    const row = await this.db
      .selectFrom('messages')
      .select(['id', 'instance_id', 'mail_from', 'size', 'header_message_id', 'created_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    return (
      row && {
        id: row.id,
        instanceId: row.instance_id,
        mailFrom: row.mail_from,
        size: row.size,
        headerMessageId: row.header_message_id,
        createdAt: row.created_at,
      }
    );
  }

  async deliveriesOf(
    messageId: string,
  ): Promise<
    { id: number; recipient: string; state: DeliveryState; attempts: number; lastReply: string | null; lastCategory: DeliveryCategory | null; dueAt: number }[]
  > {
    const rows = await this.db.selectFrom('deliveries').selectAll().where('message_id', '=', messageId).orderBy('id').execute();
    return rows.map((r) => ({
      id: r.id,
      recipient: r.recipient,
      state: r.state,
      attempts: r.attempts,
      lastReply: r.last_reply,
      lastCategory: r.last_category,
      dueAt: r.due_at,
    }));
  }
}

/** A delivery as one claim holder had it: an outcome counts only for the claim that is current. */
function claimKey(o: Outcome): string {
  return `${o.delivery.id}:${o.delivery.owner}`;
}

/** What an outcome writes on its delivery row. */
function outcomeRow(o: Outcome) {
  return {
    id: o.delivery.id,
    owner: o.delivery.owner,
    state: (o.kind === 'deferred' ? 'scheduled' : o.kind) satisfies DeliveryState as DeliveryState,
    increment: o.kind === 'expired' ? 0 : 1,
    dueAt: o.kind === 'deferred' ? o.retryAt : o.at,
    at: o.at,
    reply: o.reply,
    category: o.kind === 'delivered' ? null : o.category,
  };
}

/**
 * SQLite runs in-process: a prepared statement per row costs no round trip. Returns the
 * outcomes that counted: those whose claim was still current, each delivery once.
 */
async function recordOneByOne(trx: Transaction<Database>, outcomes: Outcome[]): Promise<Outcome[]> {
  const kept: Outcome[] = [];
  const counted = new Set<number>();
  for (const o of outcomes) {
    if (counted.has(o.delivery.id)) continue;
    const r = outcomeRow(o);
    const result = await trx
      .updateTable('deliveries')
      .set({
        state: r.state,
        attempts: sql<number>`attempts + ${r.increment}`,
        due_at: r.dueAt,
        updated_at: r.at,
        last_reply: r.reply,
        last_category: r.category,
        lease_owner: null,
      })
      .where('id', '=', r.id)
      .where('state', '=', 'inflight')
      .where('lease_owner', '=', r.owner)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) continue;
    counted.add(o.delivery.id);
    kept.push(o);
  }
  await insertEvents(
    trx,
    kept.map((o) => event(o.delivery.instanceId, o.delivery.messageId, o.delivery.id, o.kind, o.delivery.recipient, o.at, outcomeDetail(o))),
  );
  return kept;
}

/** What an outcome's event says. */
function outcomeDetail(o: Outcome): Record<string, unknown> {
  return {
    reply: o.reply,
    attempt: o.delivery.attempts + (o.kind === 'expired' ? 0 : 1),
    ...(o.kind === 'delivered' ? {} : { category: o.category }),
    ...(o.kind === 'deferred' ? { retryAt: new Date(o.retryAt).toISOString() } : {}),
    infrastructureId: o.delivery.infrastructureId,
    ...(o.tls === undefined ? {} : { tls: o.tls }),
  };
}

/**
 * PostgreSQL: each 500 outcomes as one statement that updates the deliveries still
 * claimed by the outcome's owner and writes their events in the outcomes' order, instead
 * of a round trip per row. A statement is atomic, so a delivery never changes without its
 * event. Returns the outcomes that counted, each delivery once.
 */
async function recordAtOnce(db: Kysely<Database>, outcomes: Outcome[]): Promise<Outcome[]> {
  const seen = new Set<string>();
  const unique = outcomes.filter((o) => !seen.has(claimKey(o)) && seen.add(claimKey(o)));
  const kept: Outcome[] = [];
  for (let i = 0; i < unique.length; i += chunk) {
    const part = unique.slice(i, i + chunk);
    const values = sql.join(
      part.map((o, ord) => {
        const r = outcomeRow(o);
        const detail = JSON.stringify(outcomeDetail(o));
        return sql`(${ord}::int, ${r.id}::bigint, ${r.owner}::text, ${r.state}::text, ${r.increment}::int, ${r.dueAt}::bigint, ${r.at}::bigint, ${r.reply}::text, ${r.category}::text, ${detail}::text)`;
      }),
    );
    const { rows } = await sql<{ ord: number }>`
      with v(ord, id, owner, state, increment, due_at, at, reply, category, detail) as (values ${values}),
      u as (
        update deliveries as d set
          state = v.state, attempts = d.attempts + v.increment, due_at = v.due_at, updated_at = v.at,
          last_reply = v.reply, last_category = v.category, lease_owner = null
        from v
        where d.id = v.id and d.state = 'inflight' and d.lease_owner = v.owner
        returning d.id, d.instance_id, d.message_id, d.recipient, v.ord
      ),
      e as (
        insert into events (instance_id, message_id, delivery_id, type, recipient, at, detail)
        select u.instance_id, u.message_id, u.id, case when v.state = 'scheduled' then 'deferred' else v.state end, u.recipient, v.at, v.detail
        from u join v on v.ord = u.ord
        order by u.ord
      )
      select ord from u order by ord`.execute(db);
    for (const row of rows) kept.push(part[Number(row.ord)]!);
  }
  return kept;
}

/**
 * A claim handed back unattempted. The claim overwrote the delivery's due time with its
 * lease's end, so it takes its acceptance time back instead of `now`: it was due before the
 * claim, and due only from now it would wait behind every delivery accepted since.
 */
function handedBack(now: number) {
  return (eb: ExpressionBuilder<Database, 'deliveries'>) => ({
    state: 'scheduled' as const,
    due_at: eb.ref('created_at'),
    lease_owner: null,
    updated_at: now,
  });
}

/** The rows one group commit writes: the messages, a delivery per recipient, their events, idempotency keys. */
function acceptedRows(messages: NewMessage[], now: number, expiresAt: number, node: string | undefined) {
  return {
    messages: messageRows(messages, now),
    deliveries: messages.flatMap((m) =>
      m.recipients.map(
        (r): Insertable<DeliveryTable> => ({
          message_id: m.id,
          instance_id: m.instanceId,
          recipient: r.address,
          domain: r.domain,
          state: r.suppressed ? 'suppressed' : 'scheduled',
          attempts: 0,
          due_at: now,
          expires_at: expiresAt,
          created_at: now,
          updated_at: now,
          last_reply: r.suppressed,
          last_category: r.suppressed ? 'suppressed' : null,
          lease_owner: null,
          ...(node ? { accepted_by: node } : {}),
        }),
      ),
    ),
    events: messages.flatMap((m) => [
      event(m.instanceId, m.id, null, 'accepted', null, now, acceptedDetail(m)),
      ...m.recipients.filter((r) => r.suppressed).map((r) => event(m.instanceId, m.id, null, 'suppressed', r.address, now, { reason: r.suppressed })),
    ]),
    keys: keyRows(messages, now),
  };
}

function messageRows(messages: NewMessage[], now: number) {
  return messages.map((m) => ({
    id: m.id,
    instance_id: m.instanceId,
    mail_from: m.mailFrom,
    raw: m.raw,
    size: m.raw.length,
    header_message_id: m.headerMessageId,
    created_at: now,
    list_unsubscribe: m.listUnsubscribe ? 1 : 0,
  }));
}

function keyRows(messages: NewMessage[], now: number) {
  return messages
    .filter((m) => m.idempotency)
    .map((m) => ({
      instance_id: m.instanceId,
      key: m.idempotency!.key,
      request_hash: m.idempotency!.requestHash,
      response: m.idempotency!.response,
      created_at: now,
    }));
}

function acceptedDetail(m: NewMessage): Record<string, unknown> {
  return { recipients: m.recipients.length, size: m.raw.length };
}

/** Messages whose suppressions were left to the commit, looked up within its transaction (one statement per 500 addresses). */
async function withSuppressions(db: Kysely<Database>, messages: NewMessage[]): Promise<NewMessage[]> {
  const unchecked = messages.filter((m) => m.suppressionsUnchecked);
  if (unchecked.length === 0) return messages;
  const found = await suppressionsAmong(
    db,
    unchecked.map((m) => ({ instanceId: m.instanceId, addresses: m.recipients.flatMap((r) => [r.address, r.given ?? r.address]) })),
  );
  return messages.map((m) =>
    m.suppressionsUnchecked ? { ...m, recipients: withReasons(m.recipients, found.get(m.instanceId) ?? new Map()), suppressionsUnchecked: false } : m,
  );
}

/**
 * The recipients with the reason of their suppression among `reasons` (lower-cased address
 * to reason): the stored A-label form's first, then the form the client gave.
 */
export function withReasons(recipients: NewMessage['recipients'], reasons: ReadonlyMap<string, string>): NewMessage['recipients'] {
  return recipients.map((r) => {
    const reason = reasons.get(r.address.toLowerCase()) ?? reasons.get((r.given ?? r.address).toLowerCase());
    return reason === undefined ? r : { ...r, suppressed: suppressionReply(reason) };
  });
}

/** PostgreSQL takes at most 65,535 parameters in a statement; a commit past this many takes the several-statement path. */
const maxStatementParameters = 30_000;

/** The parameters `commitAtOnce` binds: per message its row and its accepted event, per recipient its row, per key its row. */
function statementParameters(messages: NewMessage[]): number {
  let n = 8;
  for (const m of messages) n += 8 + 4 + m.recipients.length * 9 + (m.idempotency ? 5 : 0);
  return n;
}

/**
 * PostgreSQL: the whole commit as one statement (data-modifying CTEs), so a group commit
 * costs one round trip instead of one per table and a BEGIN and COMMIT. A statement is
 * atomic on its own: a stored idempotency key aborts all of it, as in the transaction.
 * Recipients of messages whose suppressions were left to the commit are looked up here,
 * as the address and as the client gave it (the A-label form first); the others carry
 * their answer. Events in order: each message's `accepted`, then its suppressed recipients.
 */
async function commitAtOnce(db: Kysely<Database>, messages: NewMessage[], now: number, expiresAt: number, node: string | undefined): Promise<void> {
  const recipients = sql.join(
    messages.flatMap((m, mord) =>
      m.recipients.map((r, rord) => {
        const address = m.suppressionsUnchecked ? r.address.toLowerCase() : null;
        const given = m.suppressionsUnchecked ? (r.given ?? r.address).toLowerCase() : null;
        return sql`(${mord}::int, ${rord}::int, ${m.id}::text, ${m.instanceId}::int, ${r.address}::text, ${r.domain}::text, ${r.suppressed}::text, ${address}::text, ${given}::text)`;
      }),
    ),
  );
  const accepted = sql.join(messages.map((m, mord) => sql`(${mord}::int, ${m.instanceId}::int, ${m.id}::text, ${JSON.stringify(acceptedDetail(m))}::text)`));
  const keys = keyRows(messages, now);
  await sql`
    with accepted_messages as (${db.insertInto('messages').values(messageRows(messages, now))}),
    ${keys.length > 0 ? sql`accepted_keys as (${db.insertInto('idempotency_keys').values(keys)}),` : sql``}
    r(mord, rord, message_id, instance_id, recipient, domain, suppressed, address_lower, given_lower) as (values ${recipients}),
    s as (
      select r.mord, r.rord, r.message_id, r.instance_id, r.recipient, r.domain, coalesce(r.suppressed, (
        select ${suppressionReply('')}::text || x.reason from suppressions x
        where r.address_lower is not null and x.instance_id = r.instance_id and x.address in (r.address_lower, r.given_lower)
        order by x.address = r.address_lower desc
        limit 1
      )) as reply
      from r
    ),
    accepted_deliveries as (
      insert into deliveries (message_id, instance_id, recipient, domain, state, attempts, due_at, expires_at, created_at, updated_at, last_reply, last_category, lease_owner, accepted_by)
      select message_id, instance_id, recipient, domain, case when reply is null then 'scheduled' else 'suppressed' end, 0,
        ${now}::bigint, ${expiresAt}::bigint, ${now}::bigint, ${now}::bigint, reply, case when reply is null then null else 'suppressed' end, null, ${node ?? null}::text
      from s
      order by mord, rord
    )
    insert into events (instance_id, message_id, delivery_id, type, recipient, at, detail)
    select instance_id, message_id, null, type, recipient, ${now}::bigint, detail from (
      select mord, -1 as rord, instance_id, message_id, 'accepted' as type, null::text as recipient, detail
      from (values ${accepted}) as a(mord, instance_id, message_id, detail)
      union all
      select mord, rord, instance_id, message_id, 'suppressed', recipient, json_build_object('reason', reply)::text
      from s where reply is not null
    ) as e
    order by mord, rord`.execute(db);
}

function claimed(
  r: {
    id: number;
    message_id: string;
    instance_id: number;
    infrastructure_id: number;
    recipient: string;
    domain: string;
    attempts: number;
    created_at: number;
    expires_at: number;
  },
  owner: string,
): ClaimedDelivery {
  return {
    id: r.id,
    messageId: r.message_id,
    instanceId: r.instance_id,
    infrastructureId: r.infrastructure_id,
    recipient: r.recipient,
    domain: r.domain,
    attempts: r.attempts,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    owner,
  };
}
