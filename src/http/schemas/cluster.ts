import { Type, type Static } from 'typebox';
import { nodeRoles } from '../../core/cluster/nodes.ts';
import { Timestamp } from './common.ts';

/** One `mailshift serve` process of the cluster, as the registry last saw it. */
export const NodeStatus = Type.Object({
  id: Type.String({ description: 'host:pid:random; also the owner name of its claims' }),
  host: Type.String(),
  pid: Type.Integer(),
  version: Type.String({ description: 'the mailshift version it runs' }),
  roles: Type.Array(Type.Enum(nodeRoles)),
  leader: Type.Boolean({ description: 'it runs the work done once for the cluster' }),
  alive: Type.Boolean({ description: 'seen within its time to live and not stopped' }),
  startedAt: Timestamp,
  lastSeenAt: Timestamp,
  claims: Type.Integer({ minimum: 0, description: 'deliveries it holds claimed now' }),
});

/** `GET /api/admin/v1/nodes`: the nodes, running or stopped within the last hour. */
export const ClusterView = Type.Object({
  self: Type.String({ description: 'the id of the node that answered' }),
  epoch: Type.Union([Type.Integer(), Type.Null()], { description: 'the leader\u2019s fencing epoch; null on SQLite and while no node leads' }),
  nodes: Type.Array(NodeStatus),
});

export type NodeStatus = Static<typeof NodeStatus>;
export type ClusterView = Static<typeof ClusterView>;
