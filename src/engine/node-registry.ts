import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { NodeRegistration, NodeRepository } from '../store/node-repository.ts';
import type { SpoolRepository } from '../store/spool-repository.ts';
import { PeriodicTask } from './periodic-task.ts';

export interface NodeRegistryOptions {
  node: NodeRegistration;
  /** A node unseen for this long is dead; this one heartbeats five times as often. */
  ttlMs: number;
  /** Called with the ids of nodes just found dead, after their claims were handed back (shared limits drop their slots). */
  onDead?: (ids: string[]) => Promise<void>;
}

/** Stopped nodes are listed for a while, then forgotten (looked for hourly, not at every beat). */
const forgetAfterMs = 7 * 24 * 3_600_000;
const forgetEveryMs = 3_600_000;

/**
 * This node in the cluster's registry: registered at start, seen at every heartbeat, and
 * marked stopped at a clean stop. Each heartbeat also looks for nodes unseen past their
 * time to live and hands their delivery claims back at once, without waiting for leases.
 * Runs on wall time: liveness is about processes, not warped schedules.
 */
export class NodeRegistry {
  private readonly task: PeriodicTask;
  private forgotAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly nodes: Pick<NodeRepository, 'register' | 'heartbeat' | 'reapDead' | 'stopped' | 'forgetStopped'>,
    private readonly claims: Pick<SpoolRepository, 'releaseOwners'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: NodeRegistryOptions,
  ) {
    const intervalMs = Math.max(100, Math.floor(options.ttlMs / 5));
    this.task = new PeriodicTask(() => this.beat(), log, { name: 'node heartbeat', intervalMs, firstRunMs: intervalMs, unref: true });
  }

  get id(): string {
    return this.options.node.id;
  }

  async start(): Promise<void> {
    await this.nodes.register(this.options.node);
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
    try {
      await this.nodes.stopped(this.id, this.clock.now());
    } catch (err) {
      this.log.warn({ err }, 'marking this node stopped failed; the others will find it dead');
    }
  }

  /** One heartbeat, then a look for dead nodes; exposed for tests. */
  async beat(): Promise<void> {
    const now = this.clock.now();
    await this.nodes.heartbeat(this.id, now);
    if (now - this.forgotAt >= forgetEveryMs) {
      await this.nodes.forgetStopped(now - forgetAfterMs);
      this.forgotAt = now;
    }
    const dead = (await this.nodes.reapDead(now, this.options.ttlMs)).filter((id) => id !== this.id);
    if (dead.length === 0) return;
    const released = await this.claims.releaseOwners(dead, now);
    this.log.warn({ nodes: dead, released }, 'nodes stopped heartbeating: their claims are handed back');
    await this.options.onDead?.(dead);
  }
}
