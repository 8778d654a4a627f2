import type { Kysely, Selectable } from 'kysely';
import type { Database, ProgramWaveTable } from './schema.ts';
import { fenced, unfenced, type Fence } from './fence.ts';
import type { Phase, WaveState } from '../core/upgrade/program.ts';

export interface WaveRecord {
  id: number;
  programId: number;
  idx: number;
  phase: Phase;
  retry: boolean;
  start: number;
  end: number;
  estimateMs: number;
  state: WaveState;
  actualStart: number | null;
  actualEnd: number | null;
}

export type WaveFields = Partial<Pick<ProgramWaveTable, 'state' | 'actual_start' | 'actual_end' | 'start_at' | 'end_at'>>;

/** A published program's waves (written by `ProgramRepository.publish`): their windows and progress. */
export class WaveRepository {
  /** `fence` guards `setWave`, which the leader's runner calls. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly fence: Fence = unfenced,
  ) {}

  async waves(programId: number): Promise<WaveRecord[]> {
    const rows = await this.db.selectFrom('program_waves').selectAll().where('program_id', '=', programId).orderBy('idx').execute();
    return rows.map(toWave);
  }

  async setWave(waveId: number, fields: WaveFields): Promise<void> {
    await fenced(this.db, this.fence, (trx) => trx.updateTable('program_waves').set(fields).where('id', '=', waveId).execute());
  }
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
    state: r.state,
    actualStart: r.actual_start,
    actualEnd: r.actual_end,
  };
}
