import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { RetentionRepository } from '../store/retention-repository.ts';
import { PeriodicTask } from './periodic-task.ts';

/** Prunes finished mail, old events and idempotency keys on a timer, a bounded batch at a time. */
export class Retention {
  private readonly task: PeriodicTask;

  constructor(
    private readonly store: Pick<RetentionRepository, 'prune'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly keep: { messagesMs: number; eventsMs: number; idempotencyKeysMs: number },
    everyMs = 600_000,
  ) {
    this.task = new PeriodicTask(() => this.run(), log, { name: 'pruning', intervalMs: everyMs, firstRunMs: everyMs, unref: true });
  }

  start(): void {
    this.task.start();
  }

  /** Waits for a pruning batch in progress to finish. */
  stop(): Promise<void> {
    return this.task.stop();
  }

  async run(): Promise<void> {
    const now = this.clock.now();
    try {
      for (;;) {
        const pruned = await this.store.prune(now - this.keep.messagesMs, now - this.keep.eventsMs, now - this.keep.idempotencyKeysMs);
        if (pruned.messages + pruned.events + pruned.keys > 0) this.log.info(pruned, 'pruned');
        if (pruned.messages < 1000) return;
      }
    } catch (err) {
      this.log.error({ err }, 'pruning failed');
    }
  }
}
