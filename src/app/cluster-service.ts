import type { Clock } from '../core/clock.ts';
import { nodeAlive, type NodeRole, type NodeView } from '../core/cluster/nodes.ts';

/** What the cluster view reads: the nodes' registry and the leader's lease. */
export interface ClusterPorts {
  nodes: { list(now: number, keepStoppedMs: number): Promise<(NodeView & { claims: number })[]> };
  leases: { current(name: string): Promise<{ holder: string; epoch: number; expiresAt: number } | undefined> };
}

export interface NodeStatus {
  id: string;
  host: string;
  pid: number;
  version: string;
  roles: NodeRole[];
  leader: boolean;
  alive: boolean;
  startedAt: number;
  lastSeenAt: number;
  /** Deliveries it holds claimed now. */
  claims: number;
}

export interface ClusterView {
  /** The node that answered. */
  self: string;
  /** The leader's fencing epoch; null while no node leads. */
  epoch: number | null;
  nodes: NodeStatus[];
}

export interface ClusterOptions {
  self: string;
  ttlMs: number;
  /** One process on its own database (SQLite): it leads without a lease. */
  single: boolean;
}

/** Nodes stopped within this are still listed, so an operator sees the one that just died. */
const keepStoppedMs = 3_600_000;

/** The operators' view of the cluster: its nodes, which are alive, and which leads. */
export class ClusterService {
  constructor(
    private readonly ports: ClusterPorts,
    private readonly clock: Clock,
    private readonly options: ClusterOptions,
  ) {}

  async view(): Promise<ClusterView> {
    const now = this.clock.now();
    const [nodes, lease] = await Promise.all([
      this.ports.nodes.list(now, keepStoppedMs),
      this.options.single ? undefined : this.ports.leases.current('leader'),
    ]);
    const leader = this.options.single ? this.options.self : lease && lease.expiresAt >= now ? lease.holder : null;
    return {
      self: this.options.self,
      epoch: this.options.single ? null : leader ? lease!.epoch : null,
      nodes: nodes.map((n) => {
        const alive = nodeAlive(n, now, this.options.ttlMs);
        return {
          id: n.id,
          host: n.host,
          pid: n.pid,
          version: n.version,
          roles: n.roles,
          leader: alive && n.id === leader,
          alive,
          startedAt: n.startedAt,
          lastSeenAt: n.lastSeenAt,
          claims: n.claims,
        };
      }),
    };
  }
}
