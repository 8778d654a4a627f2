import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { Fence } from '../store/fence.ts';
import { FencedError } from '../store/fence.ts';
import type { LeaseRepository, LeaseTerm } from '../store/lease-repository.ts';
import { PeriodicTask } from './periodic-task.ts';

export interface LeadershipHooks {
  /** This node leads from now on: start the work done once for the cluster. */
  elected(term: LeaseTerm): Promise<void>;
  /** It no longer does (lease lost or stopping): stop that work; its writes are refused from now on. */
  deposed(): Promise<void>;
}

export interface LeadershipOptions {
  /** This node's id: the lease's holder name. */
  holder: string;
  /** The lease's length unrenewed; it is renewed three times per lease. */
  leaseMs: number;
}

const leaseName = 'leader';

/**
 * One leader for the cluster, by a lease row with a fencing epoch. The leader renews its
 * lease; a node takes it over once it has expired (its holder died or stalled), raising
 * the epoch. Every write of the leader's work passes `fence`, which checks the lease
 * still has this node's term in the write's own transaction, so a deposed leader's late
 * write is refused rather than applied. A leader that cannot renew (the database is
 * unreachable) steps down before its lease can expire, so two never act at once.
 */
export class Leadership {
  private readonly task: PeriodicTask;
  private term: LeaseTerm | null = null;
  /** Until when this node may act as leader without a renewal: a third of a lease short of its expiry. */
  private actUntil = 0;
  private changing: Promise<void> = Promise.resolve();

  constructor(
    private readonly leases: Pick<LeaseRepository, 'acquire' | 'renew' | 'release' | 'holds'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: LeadershipOptions,
    private readonly hooks: LeadershipHooks,
  ) {
    const intervalMs = Math.max(100, Math.floor(options.leaseMs / 3));
    this.task = new PeriodicTask(() => this.round(), log, { name: 'leader election', intervalMs, unref: true });
  }

  get leader(): boolean {
    return this.term !== null;
  }

  get epoch(): number | null {
    return this.term?.epoch ?? null;
  }

  /** Checks the leader's writes; see the class comment. */
  readonly fence: Fence = {
    check: async (trx) => {
      const term = this.term;
      if (!term) throw new FencedError('this node is not the leader');
      if (!(await this.leases.holds(trx, leaseName, term))) throw new FencedError(`the lease of epoch ${term.epoch} was taken over`);
    },
  };

  start(): void {
    this.task.start();
  }

  /** Stops the leader's work and gives the lease up, so another node takes over at once. */
  async stop(): Promise<void> {
    await this.task.stop();
    const term = this.term;
    if (!term) return;
    await this.depose('stopping');
    try {
      await this.leases.release(leaseName, term);
    } catch (err) {
      this.log.warn({ err }, 'giving the leader lease up failed; it expires on its own');
    }
  }

  /** One round: renew the lease held, or try to take it; exposed for tests. */
  async round(): Promise<void> {
    const now = this.clock.now();
    if (this.term) {
      let renewed: boolean;
      try {
        renewed = await this.leases.renew(leaseName, this.term, now, this.options.leaseMs);
      } catch (err) {
        if (this.clock.now() >= this.actUntil) await this.depose('the lease could not be renewed in time');
        else this.log.warn({ err }, 'renewing the leader lease failed; trying again');
        return;
      }
      if (renewed) this.actUntil = now + this.options.leaseMs - Math.floor(this.options.leaseMs / 3);
      else await this.depose('another node took the lease over');
      return;
    }
    const term = await this.leases.acquire(leaseName, this.options.holder, now, this.options.leaseMs);
    if (!term) return;
    this.term = term;
    this.actUntil = now + this.options.leaseMs - Math.floor(this.options.leaseMs / 3);
    this.log.info({ epoch: term.epoch }, 'elected leader');
    await this.serially(() => this.hooks.elected(term));
  }

  private async depose(why: string): Promise<void> {
    if (!this.term) return;
    this.log.warn({ epoch: this.term.epoch, why }, 'no longer the leader');
    this.term = null;
    await this.serially(() => this.hooks.deposed());
  }

  /** Starting and stopping the leader's work never overlap. */
  private serially(change: () => Promise<void>): Promise<void> {
    this.changing = this.changing.then(change, change).catch((err) => this.log.error({ err }, 'starting or stopping the leader’s work failed'));
    return this.changing;
  }
}
