import type { Kysely, Selectable } from 'kysely';
import type { Database, ProgramTable } from './schema.ts';
import { fenced, unfenced, type Fence } from './fence.ts';
import type { PlannedWave, ProgramSpec, ProgramState } from '../core/upgrade/program.ts';

export type { ProgramState } from '../core/upgrade/program.ts';

export interface ProgramRecord {
  id: number;
  name: string;
  spec: ProgramSpec;
  state: ProgramState;
  createdAt: number;
  publishedAt: number | null;
  haltedReason: string | null;
}

/** Upgrade programs: their spec and lifecycle; publishing locks their waves and switches. */
export class ProgramRepository {
  /** `fence` guards `setState`, which the leader's runner calls. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly fence: Fence = unfenced,
  ) {}

  async create(name: string, spec: ProgramSpec, now: number): Promise<ProgramRecord> {
    const { id } = await this.db
      .insertInto('programs')
      .values({ name, spec: JSON.stringify(spec), state: 'draft', created_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
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

  /**
   * Locks the plan: waves and one scheduled switch per instance, in one transaction — the
   * one write here that spans the waves' and switches' tables, kept whole so a plan is
   * never half published.
   */
  async publish(programId: number, waves: PlannedWave[], now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('program_waves')
        .values(
          waves.map((w) => ({
            program_id: programId,
            idx: w.index,
            phase: w.phase,
            retry: w.retry ? 1 : 0,
            start_at: w.start,
            end_at: w.end,
            estimate_ms: w.estimateMs,
            state: 'scheduled' as const,
          })),
        )
        .execute();
      const switches = waves.flatMap((w) =>
        w.instances.map((i) => ({ program_id: programId, instance_id: i.id, wave_idx: w.index, state: 'scheduled' as const, attempts: 0, updated_at: now })),
      );
      for (let i = 0; i < switches.length; i += 500)
        await trx
          .insertInto('switches')
          .values(switches.slice(i, i + 500))
          .execute();
      await trx.updateTable('programs').set({ state: 'published', published_at: now }).where('id', '=', programId).execute();
    });
  }

  async setState(programId: number, state: ProgramState, haltedReason: string | null = null): Promise<void> {
    await fenced(this.db, this.fence, (trx) => trx.updateTable('programs').set({ state, halted_reason: haltedReason }).where('id', '=', programId).execute());
  }
}

export function toProgram(r: Selectable<ProgramTable>): ProgramRecord {
  return {
    id: r.id,
    name: r.name,
    spec: JSON.parse(r.spec),
    state: r.state,
    createdAt: r.created_at,
    publishedAt: r.published_at,
    haltedReason: r.halted_reason,
  };
}
