import type { Kysely, Selectable } from 'kysely';
import type { Database, NoticeTable, ProgramWaveTable, SwitchTable } from './schema.ts';
import type { PlannedWave, ProgramSpec } from '../core/upgrade/program.ts';
import type { SwitchState } from '../core/upgrade/switch-machine.ts';

export type ProgramState = 'draft' | 'published' | 'running' | 'halted' | 'completed';

export interface ProgramRecord {
  id: number;
  name: string;
  spec: ProgramSpec;
  state: ProgramState;
  createdAt: number;
  publishedAt: number | null;
  haltedReason: string | null;
}

export interface WaveRecord {
  id: number;
  programId: number;
  idx: number;
  phase: string;
  retry: boolean;
  start: number;
  end: number;
  estimateMs: number;
  state: 'scheduled' | 'running' | 'completed' | 'halted';
  actualStart: number | null;
  actualEnd: number | null;
}

export interface SwitchRecord {
  id: number;
  programId: number;
  instanceId: number;
  instanceName: string;
  customerId: number;
  environment: string;
  waveIdx: number;
  state: SwitchState;
  attempts: number;
  startedAt: number | null;
  suspendedAt: number | null;
  switchedAt: number | null;
  pausedMs: number | null;
  released: number | null;
  error: string | null;
}

export type SwitchFields = Partial<Pick<SwitchTable, 'started_at' | 'suspended_at' | 'switched_at' | 'paused_ms' | 'released' | 'error' | 'attempts' | 'wave_idx'>>;

export interface NewNotice {
  programId: number;
  customerId: number;
  email: string;
  locale: string;
  timezone: string;
  kind: string;
  waveIdx: number;
  dueAt: number;
  detail: Record<string, unknown>;
}

/** Upgrade programs: their locked waves, per-instance switches (with a log of every step) and notices. */
export class ProgramRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(name: string, spec: ProgramSpec, now: number): Promise<ProgramRecord> {
    const { id } = await this.db.insertInto('programs').values({ name, spec: JSON.stringify(spec), state: 'draft', created_at: now }).returning('id').executeTakeFirstOrThrow();
    return { id, name, spec, state: 'draft', createdAt: now, publishedAt: null, haltedReason: null };
  }

  async find(by: { name: string } | { id: number }): Promise<ProgramRecord | undefined> {
    let q = this.db.selectFrom('programs').selectAll();
    q = 'name' in by ? q.where('name', '=', by.name) : q.where('id', '=', by.id);
    const r = await q.executeTakeFirst();
    return r && toProgram(r);
  }

  async list(states?: ProgramState[]): Promise<ProgramRecord[]> {
    let q = this.db.selectFrom('programs').selectAll().orderBy('id');
    if (states) q = q.where('state', 'in', states);
    return (await q.execute()).map(toProgram);
  }

  /** Locks the plan: waves and one scheduled switch per instance, in one transaction. */
  async publish(programId: number, waves: PlannedWave[], now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('program_waves')
        .values(waves.map((w) => ({ program_id: programId, idx: w.index, phase: w.phase, retry: w.retry ? 1 : 0, start_at: w.start, end_at: w.end, estimate_ms: w.estimateMs, state: 'scheduled' })))
        .execute();
      const switches = waves.flatMap((w) => w.instances.map((i) => ({ program_id: programId, instance_id: i.id, wave_idx: w.index, state: 'scheduled', attempts: 0, updated_at: now })));
      for (let i = 0; i < switches.length; i += 500) await trx.insertInto('switches').values(switches.slice(i, i + 500)).execute();
      await trx.updateTable('programs').set({ state: 'published', published_at: now }).where('id', '=', programId).execute();
    });
  }

  async setState(programId: number, state: ProgramState, haltedReason: string | null = null): Promise<void> {
    await this.db.updateTable('programs').set({ state, halted_reason: haltedReason }).where('id', '=', programId).execute();
  }

  async waves(programId: number): Promise<WaveRecord[]> {
    const rows = await this.db.selectFrom('program_waves').selectAll().where('program_id', '=', programId).orderBy('idx').execute();
    return rows.map(toWave);
  }

  async setWave(waveId: number, fields: Partial<Pick<ProgramWaveTable, 'state' | 'actual_start' | 'actual_end' | 'start_at' | 'end_at'>>): Promise<void> {
    await this.db.updateTable('program_waves').set(fields).where('id', '=', waveId).execute();
  }

  async switches(programId: number, waveIdx?: number): Promise<SwitchRecord[]> {
    let q = this.switchRows().where('s.program_id', '=', programId).orderBy('s.wave_idx').orderBy('i.name');
    if (waveIdx !== undefined) q = q.where('s.wave_idx', '=', waveIdx);
    return (await q.execute()).map(toSwitch);
  }

  private switchRows() {
    return this.db.selectFrom('switches as s').innerJoin('instances as i', 'i.id', 's.instance_id').selectAll('s').select(['i.name as instance_name', 'i.customer_id', 'i.environment']);
  }

  /** The instance's switch in its latest program; with `openOnly`, only in a program not yet finished. */
  async switchOf(instanceId: number, openOnly = true): Promise<{ program: ProgramRecord; switch: SwitchRecord } | undefined> {
    let q = this.db
      .selectFrom('switches as s')
      .innerJoin('programs as p', 'p.id', 's.program_id')
      .select(['s.id', 's.program_id'])
      .where('s.instance_id', '=', instanceId)
      .orderBy('s.id', 'desc');
    if (openOnly) q = q.where('p.state', 'in', ['published', 'running', 'halted']);
    const row = await q.executeTakeFirst();
    if (!row) return undefined;
    // One row, not the whole program: status pages ask this once per instance.
    const [program, sw] = await Promise.all([this.find({ id: row.program_id }), this.switchRows().where('s.id', '=', row.id).executeTakeFirstOrThrow()]);
    return { program: program!, switch: toSwitch(sw) };
  }

  /**
   * Persists one step: only if the switch is still in `from`, so two runners can never
   * carry out the same step twice. Returns false when another got there first.
   */
  async transition(switchId: number, from: SwitchState, to: SwitchState, now: number, fields: SwitchFields = {}, detail?: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('switches').set({ ...fields, state: to, updated_at: now }).where('id', '=', switchId).where('state', '=', from).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await trx.insertInto('switch_log').values({ switch_id: switchId, from_state: from, to_state: to, at: now, detail: detail ?? null }).execute();
      return true;
    });
  }

  async switchLog(switchId: number): Promise<{ from: string; to: string; at: number; detail: string | null }[]> {
    const rows = await this.db.selectFrom('switch_log').selectAll().where('switch_id', '=', switchId).orderBy('id').execute();
    return rows.map((r) => ({ from: r.from_state, to: r.to_state, at: r.at, detail: r.detail }));
  }

  /** Durations of completed switches (start to resume), newest first, for the running estimate. */
  async completedDurations(limit = 200): Promise<number[]> {
    const rows = await this.db
      .selectFrom('switches')
      .select(['started_at', 'switched_at'])
      .where('state', '=', 'completed')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.filter((r) => r.started_at !== null && r.switched_at !== null).map((r) => r.switched_at! - r.started_at!);
  }

  async addNotices(notices: NewNotice[]): Promise<void> {
    const rows = notices.map((n) => ({
      program_id: n.programId,
      customer_id: n.customerId,
      email: n.email,
      locale: n.locale,
      timezone: n.timezone,
      kind: n.kind,
      wave_idx: n.waveIdx,
      due_at: n.dueAt,
      state: 'pending',
      detail: JSON.stringify(n.detail),
    }));
    for (let i = 0; i < rows.length; i += 500) await this.db.insertInto('notices').values(rows.slice(i, i + 500)).execute();
  }

  async dueNotices(now: number, limit: number): Promise<Selectable<NoticeTable>[]> {
    return this.db.selectFrom('notices').selectAll().where('state', '=', 'pending').where('due_at', '<=', now).orderBy('due_at').orderBy('id').limit(limit).execute();
  }

  async noticeSent(id: number, subject: string, body: string, messageId: string | null, now: number): Promise<void> {
    await this.db.updateTable('notices').set({ state: 'sent', subject, body, message_id: messageId, sent_at: now }).where('id', '=', id).execute();
  }

  async notices(filter: { customerId?: number; programId?: number }, limit = 500): Promise<Selectable<NoticeTable>[]> {
    let q = this.db.selectFrom('notices').selectAll().orderBy('due_at').orderBy('id').limit(limit);
    if (filter.customerId !== undefined) q = q.where('customer_id', '=', filter.customerId);
    if (filter.programId !== undefined) q = q.where('program_id', '=', filter.programId);
    return q.execute();
  }

  async setStatusToken(customerId: number, tokenHash: string, now: number): Promise<void> {
    await this.db.deleteFrom('status_tokens').where('customer_id', '=', customerId).execute();
    await this.db.insertInto('status_tokens').values({ customer_id: customerId, token_hash: tokenHash, created_at: now }).execute();
  }

  async customerOfToken(tokenHash: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('status_tokens').select('customer_id').where('token_hash', '=', tokenHash).executeTakeFirst();
    return row?.customer_id;
  }

  async recordRequest(instanceId: number, programId: number | null, kind: string, reason: string, answer: string, now: number): Promise<void> {
    await this.db.insertInto('reschedule_requests').values({ instance_id: instanceId, program_id: programId, kind, reason, answer, at: now }).execute();
  }

  async requests(programId: number) {
    return this.db
      .selectFrom('reschedule_requests as r')
      .innerJoin('instances as i', 'i.id', 'r.instance_id')
      .select(['r.id', 'i.name as instance', 'r.kind', 'r.reason', 'r.answer', 'r.at'])
      .where('r.program_id', '=', programId)
      .orderBy('r.id')
      .execute();
  }
}

function toProgram(r: Selectable<Database['programs']>): ProgramRecord {
  return { id: r.id, name: r.name, spec: JSON.parse(r.spec), state: r.state as ProgramState, createdAt: r.created_at, publishedAt: r.published_at, haltedReason: r.halted_reason };
}

function toWave(r: Selectable<ProgramWaveTable>): WaveRecord {
  return {
    id: r.id,
    programId: r.program_id,
    idx: r.idx,
    phase: r.phase,
    retry: r.retry === 1,
    start: r.start_at,
    end: r.end_at,
    estimateMs: r.estimate_ms,
    state: r.state as WaveRecord['state'],
    actualStart: r.actual_start,
    actualEnd: r.actual_end,
  };
}

function toSwitch(r: Selectable<SwitchTable> & { instance_name: string; customer_id: number; environment: string }): SwitchRecord {
  return {
    id: r.id,
    programId: r.program_id,
    instanceId: r.instance_id,
    instanceName: r.instance_name,
    customerId: r.customer_id,
    environment: r.environment,
    waveIdx: r.wave_idx,
    state: r.state as SwitchState,
    attempts: r.attempts,
    startedAt: r.started_at,
    suspendedAt: r.suspended_at,
    switchedAt: r.switched_at,
    pausedMs: r.paused_ms,
    released: r.released,
    error: r.error,
  };
}
