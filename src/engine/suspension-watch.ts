import type { Logger } from 'pino';
import { PeriodicTask } from './periodic-task.ts';

/** What the watch tells: the engine hands back a suspended instance's claims, and claims again on a resume. */
export interface SuspensionListener {
  suspended(instanceId: number): Promise<void>;
  wake(): void;
}

/**
 * Suspensions made on other nodes, seen here within `intervalMs`: the set of suspended
 * instances is read from the database and compared with the last one, so a switch's drain
 * waits only for sessions already in flight on any node.
 */
export class SuspensionWatch {
  private readonly task: PeriodicTask;
  private known: Set<number> | null = null;

  constructor(
    private readonly suspensions: { suspendedIds(): Promise<number[]> },
    private readonly listener: SuspensionListener,
    log: Logger,
    intervalMs: number,
  ) {
    this.task = new PeriodicTask(() => this.look(), log, { name: 'watching suspensions', intervalMs, unref: true });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One look; exposed for tests. */
  async look(): Promise<void> {
    const now = new Set(await this.suspensions.suspendedIds());
    const before = this.known;
    this.known = now;
    // The first look only learns: claims never include a suspended instance's deliveries.
    if (!before) return;
    for (const id of now) if (!before.has(id)) await this.listener.suspended(id);
    if ([...before].some((id) => !now.has(id))) this.listener.wake();
  }
}
