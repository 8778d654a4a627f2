import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { outcomeTypes, zeroCounts, type OutcomeType } from '../core/spool/delivery-states.ts';
import type { ProgramSpec, ProgramState } from '../core/upgrade/program.ts';
import type { SwitchState } from '../core/upgrade/switch-machine.ts';

export interface TimelineBucket {
  start: number;
  counts: Record<OutcomeType, number>;
}

export interface PrecheckRecord {
  infrastructure: string;
  program: string;
  at: number;
  ok: boolean;
  detail: string | null;
}

const openProgramStates: ProgramState[] = ['published', 'running', 'halted'];
const terminalSwitchStates: SwitchState[] = ['completed', 'rolled-back', 'failed'];

/**
 * Read-only aggregates for the operators' console; nothing here changes state. It is the
 * console's read port (app/console-reads.ts), matched by shape where main.ts wires it.
 */
export class ConsoleQueries {
  constructor(private readonly db: Kysely<Database>) {}

  /** Events per type in equal buckets from `since` up to `until`. */
  async timeline(since: number, until: number, bucketMs: number): Promise<TimelineBucket[]> {
    // Literals, not parameters: PostgreSQL matches the GROUP BY expression to the select
    // list textually, and two parameter numbers would not match. Both are whole numbers.
    const bucket = sql<number>`cast((${sql.ref('at')} - ${sql.lit(Math.floor(since))}) / ${sql.lit(Math.max(1, Math.floor(bucketMs)))} as bigint)`;
    const rows = await this.db
      .selectFrom('events')
      .select([bucket.as('bucket'), 'type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('at', '>=', since)
      .where('at', '<', until)
      .where('type', 'in', [...outcomeTypes])
      .groupBy([bucket, 'type'])
      .$narrowType<{ type: OutcomeType }>()
      .execute();
    const buckets: TimelineBucket[] = [];
    for (let start = since; start < until; start += bucketMs) buckets.push({ start, counts: zeroCounts(outcomeTypes) });
    for (const r of rows) {
      const b = buckets[Number(r.bucket)];
      if (b) b.counts[r.type] += Number(r.n);
    }
    return buckets;
  }

  /** Deliveries still to be sent, per destination domain, largest first. */
  async queueByDomain(limit: number): Promise<{ domain: string; scheduled: number; inflight: number }[]> {
    const rows = await this.db
      .selectFrom('deliveries')
      .select(['domain', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', 'in', ['scheduled', 'inflight'])
      .groupBy(['domain', 'state'])
      .execute();
    const per = new Map<string, { domain: string; scheduled: number; inflight: number }>();
    for (const r of rows) {
      const entry = per.get(r.domain) ?? { domain: r.domain, scheduled: 0, inflight: 0 };
      if (r.state === 'scheduled') entry.scheduled += Number(r.n);
      else entry.inflight += Number(r.n);
      per.set(r.domain, entry);
    }
    return [...per.values()].sort((a, b) => b.scheduled + b.inflight - (a.scheduled + a.inflight) || a.domain.localeCompare(b.domain)).slice(0, limit);
  }

  /** An instance's deliveries not yet sent (held while it is suspended), oldest first. */
  async pendingDeliveries(instanceId: number, limit: number) {
    const rows = await this.db
      .selectFrom('deliveries as d')
      .innerJoin('messages as m', 'm.id', 'd.message_id')
      .select(['d.id', 'd.message_id', 'd.recipient', 'd.state', 'd.attempts', 'd.due_at', 'd.created_at', 'd.last_reply', 'm.mail_from', 'm.size'])
      .where('d.instance_id', '=', instanceId)
      .where('d.state', 'in', ['scheduled', 'inflight'])
      .orderBy('d.id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      messageId: r.message_id,
      mailFrom: r.mail_from,
      recipient: r.recipient,
      state: r.state,
      attempts: r.attempts,
      size: r.size,
      createdAt: r.created_at,
      dueAt: r.due_at,
      lastReply: r.last_reply,
    }));
  }

  /** The latest pre-check of each infrastructure that has been a program's target. */
  async lastPrechecks(): Promise<PrecheckRecord[]> {
    const rows = await this.db
      .selectFrom('switch_log as l')
      .innerJoin('switches as s', 's.id', 'l.switch_id')
      .innerJoin('programs as p', 'p.id', 's.program_id')
      .select(['l.to_state', 'l.at', 'l.detail', 'p.name', 'p.spec'])
      .where('l.from_state', '=', 'prechecking')
      .orderBy('l.id', 'desc')
      .limit(2000)
      .execute();
    const latest = new Map<string, PrecheckRecord>();
    for (const r of rows) {
      const infrastructure = (JSON.parse(r.spec) as ProgramSpec).targetInfrastructure;
      if (latest.has(infrastructure)) continue;
      latest.set(infrastructure, { infrastructure, program: r.name, at: r.at, ok: r.to_state === 'suspending', detail: r.detail });
    }
    return [...latest.values()];
  }

  /**
   * Delivery outcomes since `since` per infrastructure id, read from the events' detail.
   * At most `cap` events are read, so a busy hour gives a lower bound (`capped`).
   */
  async outcomesByInfrastructure(
    since: number,
    cap = 50_000,
  ): Promise<{ counts: Map<number, Record<'delivered' | 'deferred' | 'bounced', number>>; capped: boolean }> {
    const rows = await this.db
      .selectFrom('events')
      .select(['type', 'detail'])
      .where('at', '>=', since)
      .where('type', 'in', ['delivered', 'deferred', 'bounced'])
      .limit(cap)
      .execute();
    const counts = new Map<number, Record<'delivered' | 'deferred' | 'bounced', number>>();
    for (const r of rows) {
      const id = (JSON.parse(r.detail) as { infrastructureId?: unknown }).infrastructureId;
      if (typeof id !== 'number') continue;
      const c = counts.get(id) ?? { delivered: 0, deferred: 0, bounced: 0 };
      c[r.type as 'delivered' | 'deferred' | 'bounced'] += 1;
      counts.set(id, c);
    }
    return { counts, capped: rows.length >= cap };
  }

  /** Switches of published, running or halted programs that have not finished. */
  async openSwitches(): Promise<{ instance: string; program: string; wave: number; state: string }[]> {
    const rows = await this.db
      .selectFrom('switches as s')
      .innerJoin('programs as p', 'p.id', 's.program_id')
      .innerJoin('instances as i', 'i.id', 's.instance_id')
      .select(['i.name as instance', 'p.name as program', 's.wave_idx', 's.state'])
      .where('p.state', 'in', openProgramStates)
      .where('s.state', 'not in', terminalSwitchStates)
      .orderBy('s.id')
      .execute();
    return rows.map((r) => ({ instance: r.instance, program: r.program, wave: r.wave_idx, state: r.state }));
  }

  /** The notice outbox, newest due first, with customer and program names. */
  async notices(limit: number) {
    return this.db
      .selectFrom('notices as n')
      .innerJoin('customers as c', 'c.id', 'n.customer_id')
      .innerJoin('programs as p', 'p.id', 'n.program_id')
      .select([
        'n.id',
        'n.kind',
        'n.email',
        'n.locale',
        'n.timezone',
        'n.wave_idx',
        'n.due_at',
        'n.state',
        'n.subject',
        'n.body',
        'n.sent_at',
        'c.name as customer',
        'p.name as program',
      ])
      .orderBy('n.due_at', 'desc')
      .orderBy('n.id', 'desc')
      .limit(limit)
      .execute();
  }
}
