import type { Kysely, Selectable } from 'kysely';
import type { Database, SwitchTable } from './schema.ts';
import { fenced, unfenced, type Fence } from './fence.ts';
import type { Environment } from '../core/fleet/fleet.ts';
import type { SwitchState } from '../core/upgrade/switch-machine.ts';
import { toProgram, type ProgramRecord } from './program-repository.ts';

export interface SwitchRecord {
  id: number;
  programId: number;
  instanceId: number;
  instanceName: string;
  customerId: number;
  environment: Environment;
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

export type SwitchFields = Partial<
  Pick<SwitchTable, 'started_at' | 'suspended_at' | 'switched_at' | 'paused_ms' | 'released' | 'error' | 'attempts' | 'wave_idx'>
>;

export interface SwitchLogEntry {
  from: SwitchState;
  to: SwitchState;
  at: number;
  detail: string | null;
}

/** Per-instance switches of published programs, each step logged with the transition that made it. */
export class SwitchRepository {
  /** `fence` guards `transition`: a deposed leader's late step is refused. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly fence: Fence = unfenced,
  ) {}

  async switches(programId: number, waveIdx?: number): Promise<SwitchRecord[]> {
    let q = this.switchRows().where('s.program_id', '=', programId).orderBy('s.wave_idx').orderBy('i.name');
    if (waveIdx !== undefined) q = q.where('s.wave_idx', '=', waveIdx);
    return (await q.execute()).map(toSwitch);
  }

  private switchRows() {
    return this.db
      .selectFrom('switches as s')
      .innerJoin('instances as i', 'i.id', 's.instance_id')
      .selectAll('s')
      .select(['i.name as instance_name', 'i.customer_id', 'i.environment']);
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
    const [program, sw] = await Promise.all([
      this.db.selectFrom('programs').selectAll().where('id', '=', row.program_id).executeTakeFirstOrThrow(),
      this.switchRows().where('s.id', '=', row.id).executeTakeFirstOrThrow(),
    ]);
    return { program: toProgram(program), switch: toSwitch(sw) };
  }

  /**
   * Persists one step: only if the switch is still in `from`, so two runners can never
   * carry out the same step twice. Returns false when another got there first. The step
   * and its log entry are one transaction.
   */
  async transition(switchId: number, from: SwitchState, to: SwitchState, now: number, fields: SwitchFields = {}, detail?: string): Promise<boolean> {
    return fenced(this.db, this.fence, async (trx) => {
      const r = await trx
        .updateTable('switches')
        .set({ ...fields, state: to, updated_at: now })
        .where('id', '=', switchId)
        .where('state', '=', from)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await trx
        .insertInto('switch_log')
        .values({ switch_id: switchId, from_state: from, to_state: to, at: now, detail: detail ?? null })
        .execute();
      return true;
    });
  }

  async switchLog(switchId: number): Promise<SwitchLogEntry[]> {
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
}

function toSwitch(r: Selectable<SwitchTable> & { instance_name: string; customer_id: number; environment: Environment }): SwitchRecord {
  return {
    id: r.id,
    programId: r.program_id,
    instanceId: r.instance_id,
    instanceName: r.instance_name,
    customerId: r.customer_id,
    environment: r.environment,
    waveIdx: r.wave_idx,
    state: r.state,
    attempts: r.attempts,
    startedAt: r.started_at,
    suspendedAt: r.suspended_at,
    switchedAt: r.switched_at,
    pausedMs: r.paused_ms,
    released: r.released,
    error: r.error,
  };
}
