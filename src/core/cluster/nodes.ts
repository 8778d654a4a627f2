/**
 * What a node does. `smtp` and `http` take mail and API calls, `delivery` claims and
 * sends, `orchestrator` may be elected leader and then runs the work done once for the
 * whole cluster (upgrade runner, notices, webhooks, retention).
 */
export const nodeRoles = ['smtp', 'http', 'delivery', 'orchestrator'] as const;
export type NodeRole = (typeof nodeRoles)[number];

/** A node as the cluster sees it. */
export interface NodeView {
  id: string;
  host: string;
  pid: number;
  version: string;
  roles: NodeRole[];
  startedAt: number;
  lastSeenAt: number;
  /** When it stopped cleanly or was found dead; null while it runs. */
  stoppedAt: number | null;
}

/** A node is alive while it has been seen within its time to live and has not stopped. */
export function nodeAlive(node: Pick<NodeView, 'lastSeenAt' | 'stoppedAt'>, now: number, ttlMs: number): boolean {
  return node.stoppedAt === null && now - node.lastSeenAt <= ttlMs;
}

/** Reads `MAILSHIFT_ROLES`-style lists: every role when empty; an unknown name is an error. */
export function parseRoles(value: string | undefined): { ok: true; roles: NodeRole[] } | { ok: false; error: string } {
  if (value === undefined || value.trim() === '') return { ok: true, roles: [...nodeRoles] };
  const names = value
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = names.filter((r) => !(nodeRoles as readonly string[]).includes(r));
  if (unknown.length > 0) return { ok: false, error: `unknown role ${unknown.join(', ')}; roles are ${nodeRoles.join(', ')}` };
  if (names.length === 0) return { ok: false, error: `no role named; roles are ${nodeRoles.join(', ')}` };
  return { ok: true, roles: nodeRoles.filter((r) => names.includes(r)) };
}
