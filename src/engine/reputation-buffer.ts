import type { Logger } from 'pino';
import type { ReputationIncrement, ReputationRepository } from '../store/reputation-repository.ts';
import { hourOf } from '../store/reputation-repository.ts';
import type { ReputationTally } from './delivery-feedback.ts';

/**
 * Reputation counts of the delivery engine, added up in memory and written every second
 * (one upsert per hour, instance and infrastructure), not once per delivery. A crash loses
 * at most a second of counts: rates, not records.
 */
export class ReputationBuffer implements ReputationTally {
  private pending = new Map<string, ReputationIncrement>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<ReputationRepository, 'add'>,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {}

  count(instanceId: number, infrastructureId: number, kind: 'delivered' | 'hardBounced', at: number): void {
    const hour = hourOf(at);
    const key = `${hour}:${instanceId}:${infrastructureId}`;
    const row = this.pending.get(key) ?? { hour, instanceId, infrastructureId };
    row[kind] = (row[kind] ?? 0) + 1;
    this.pending.set(key, row);
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs).unref();
  }

  /** Writes what is counted; resolves once it is stored (or its failure logged). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const rows = [...this.pending.values()];
    this.pending = new Map();
    this.writing = this.writing.then(async () => {
      if (rows.length === 0) return;
      try {
        await this.store.add(rows);
      } catch (err) {
        this.log.warn({ err, rows: rows.length }, 'writing reputation counts failed');
      }
    });
    return this.writing;
  }
}
