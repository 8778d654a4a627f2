import type { Instance } from '../core/fleet/fleet.ts';
import { deliveryStates } from '../store/spool-repository.ts';
import type { Services } from '../app/services.ts';

/** A message with its deliveries and events: what the API shows of one message. */
export async function messageView(services: Services, id: string) {
  const message = await services.spool.findMessage(id);
  if (!message) return undefined;
  const [deliveries, events] = await Promise.all([services.spool.deliveriesOf(id), services.spool.eventsForMessage(id)]);
  return {
    message: { ...message, createdAt: iso(message.createdAt) },
    deliveries: deliveries.map((d) => ({ ...d, dueAt: iso(d.dueAt) })),
    events: events.map((e) => ({ ...e, at: iso(e.at) })),
  };
}

export type QueueCounts = Record<(typeof deliveryStates)[number], number>;

export function emptyCounts(): QueueCounts {
  return Object.fromEntries(deliveryStates.map((s) => [s, 0])) as QueueCounts;
}

/** Delivery counts per state, overall and per instance name. */
export async function queueView(services: Services): Promise<{ total: QueueCounts; instances: Record<string, QueueCounts> }> {
  const [rows, instances] = await Promise.all([services.spool.queueCounts(), services.fleetRepository.listInstances()]);
  const byId = new Map(instances.map((i) => [i.id, i.name]));
  const total = emptyCounts();
  const per: Record<string, QueueCounts> = {};
  for (const i of instances) per[i.name] = emptyCounts();
  for (const r of rows) {
    const state = r.state as keyof QueueCounts;
    total[state] += r.count;
    const name = byId.get(r.instanceId);
    if (name) per[name][state] += r.count;
  }
  return { total, instances: per };
}

export function instanceView(instance: Instance, names: { customer: string; infrastructure: string }, queue?: QueueCounts) {
  return {
    name: instance.name,
    customer: names.customer,
    productLine: instance.productLine,
    environment: instance.environment,
    infrastructure: names.infrastructure,
    suspended: instance.suspended,
    suspendedAt: instance.suspendedAt === null ? null : iso(instance.suspendedAt),
    suspendedReason: instance.suspendedReason,
    allowFrom: instance.allowFrom,
    /** mailshift's own sender of notices, never part of an upgrade program. */
    system: instance.system,
    createdAt: iso(instance.createdAt),
    ...(queue ? { queue } : {}),
  };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
