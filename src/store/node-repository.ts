import type { Kysely } from 'kysely';
import type { NodeRole, NodeView } from '../core/cluster/nodes.ts';
import type { Database } from './schema.ts';

export interface NodeRegistration {
  id: string;
  host: string;
  pid: number;
  version: string;
  roles: readonly NodeRole[];
  startedAt: number;
}

/** The cluster's nodes: registered at start, seen at every heartbeat, marked stopped or dead. */
export class NodeRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async register(node: NodeRegistration): Promise<void> {
    const row = {
      id: node.id,
      host: node.host,
      pid: node.pid,
      version: node.version,
      roles: JSON.stringify(node.roles),
      started_at: node.startedAt,
      last_seen_at: node.startedAt,
      stopped_at: null,
    };
    await this.db
      .insertInto('nodes')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ last_seen_at: node.startedAt, stopped_at: null }))
      .execute();
  }

  /**
   * Marks the node seen. A node another found dead (it was paused past its time to live)
   * comes back alive; its claims were handed back meanwhile, and its late outcomes are
   * refused by their lost leases.
   */
  async heartbeat(id: string, now: number): Promise<void> {
    await this.db.updateTable('nodes').set({ last_seen_at: now, stopped_at: null }).where('id', '=', id).execute();
  }

  async stopped(id: string, now: number): Promise<void> {
    await this.db.updateTable('nodes').set({ stopped_at: now }).where('id', '=', id).execute();
  }

  /** Marks nodes unseen for longer than `ttlMs` dead and returns their ids (each once, to one caller). */
  async reapDead(now: number, ttlMs: number): Promise<string[]> {
    const rows = await this.db
      .updateTable('nodes')
      .set({ stopped_at: now })
      .where('stopped_at', 'is', null)
      .where('last_seen_at', '<', now - ttlMs)
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Nodes running, and those stopped within `keepStoppedMs`, oldest first; with the claims each holds. */
  async list(now: number, keepStoppedMs: number): Promise<(NodeView & { claims: number })[]> {
    const [rows, claims] = await Promise.all([
      this.db
        .selectFrom('nodes')
        .selectAll()
        .where((eb) => eb.or([eb('stopped_at', 'is', null), eb('stopped_at', '>=', now - keepStoppedMs)]))
        .orderBy('started_at')
        .orderBy('id')
        .execute(),
      this.db
        .selectFrom('deliveries')
        .select(['lease_owner', (eb) => eb.fn.countAll<number>().as('n')])
        .where('state', '=', 'inflight')
        .where('lease_owner', 'is not', null)
        .groupBy('lease_owner')
        .execute(),
    ]);
    const held = new Map(claims.map((c) => [c.lease_owner!, Number(c.n)]));
    return rows.map((r) => ({
      id: r.id,
      host: r.host,
      pid: r.pid,
      version: r.version,
      roles: JSON.parse(r.roles) as NodeRole[],
      startedAt: r.started_at,
      lastSeenAt: r.last_seen_at,
      stoppedAt: r.stopped_at,
      claims: held.get(r.id) ?? 0,
    }));
  }

  /** Forgets nodes stopped before `before` (retention). */
  async forgetStopped(before: number): Promise<number> {
    const r = await this.db.deleteFrom('nodes').where('stopped_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
