import type { ClusterView as Cluster } from '../../app/cluster-service.ts';
import type { ClusterView } from '../schemas/cluster.ts';
import { iso } from './timestamp.ts';

/** The cluster's nodes as the admin API lists them (schema: ClusterView). */
export function clusterView(view: Cluster): ClusterView {
  return {
    self: view.self,
    epoch: view.epoch,
    nodes: view.nodes.map((n) => ({
      id: n.id,
      host: n.host,
      pid: n.pid,
      version: n.version,
      roles: n.roles,
      leader: n.leader,
      alive: n.alive,
      startedAt: iso(n.startedAt),
      lastSeenAt: iso(n.lastSeenAt),
      claims: n.claims,
    })),
  };
}
