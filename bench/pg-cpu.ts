import type pg from 'pg';
import { readStat, ticksPerSecond } from './proc.ts';

export interface PgCpu {
  /** Client backends whose application_name starts with the run's prefix: the nodes' own connections. */
  backendSeconds: number;
  /** The postmaster and its background processes (WAL writer, checkpointer, autovacuum…): shared with every other user of the server. */
  auxSeconds: number;
  /** Backends of other clients (other work on the same server), for the host-load picture. */
  otherSeconds: number;
}

/**
 * CPU of a local PostgreSQL server split by who it worked for, from /proc (the server must
 * run on this machine): every `intervalMs` it lists pg_stat_activity and keeps, per pid,
 * the highest utime+stime seen, so backends that come and go between samples still count
 * up to their last sample.
 */
export class PgCpuSampler {
  private readonly ticks = new Map<number, { kind: keyof PgCpu; ticks: number }>();
  private start0 = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> | null = null;
  private postmaster: number | null = null;

  constructor(
    private readonly client: pg.Client,
    private readonly appPrefix: string,
    private readonly intervalMs = 200,
  ) {}

  async start(): Promise<void> {
    await this.sample();
    this.start0 = new Map([...this.ticks].map(([pid, t]) => [pid, t.ticks]));
    this.timer = setInterval(() => {
      this.busy ??= this.sample()
        .catch(() => undefined)
        .finally(() => {
          this.busy = null;
        });
    }, this.intervalMs);
  }

  async stop(): Promise<PgCpu> {
    if (this.timer) clearInterval(this.timer);
    await this.busy;
    await this.sample();
    const out: PgCpu = { backendSeconds: 0, auxSeconds: 0, otherSeconds: 0 };
    for (const [pid, t] of this.ticks) out[t.kind] += (t.ticks - (this.start0.get(pid) ?? 0)) / ticksPerSecond;
    return out;
  }

  private async sample(): Promise<void> {
    const { rows } = await this.client.query<{ pid: number; application_name: string | null; backend_type: string | null }>(
      'select pid, application_name, backend_type from pg_stat_activity',
    );
    const seen: { pid: number; kind: keyof PgCpu }[] = rows.map((r) => ({
      pid: r.pid,
      kind: r.backend_type !== 'client backend' ? 'auxSeconds' : (r.application_name ?? '').startsWith(this.appPrefix) ? 'backendSeconds' : 'otherSeconds',
    }));
    if (this.postmaster === null) {
      const any = rows.length > 0 ? readStat(rows[0].pid) : null;
      if (any) this.postmaster = any.ppid;
    }
    if (this.postmaster !== null) seen.push({ pid: this.postmaster, kind: 'auxSeconds' });
    for (const { pid, kind } of seen) {
      const st = readStat(pid);
      if (!st) continue;
      const prev = this.ticks.get(pid);
      // A reused pid (a backend gone, another started) is a new process: count from zero.
      if (prev && prev.kind !== kind) this.start0.delete(pid);
      this.ticks.set(pid, { kind, ticks: Math.max(prev && prev.kind === kind ? prev.ticks : 0, st.ticks) });
    }
  }
}
