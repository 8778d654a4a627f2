import { Type, type Static } from 'typebox';
import { deliveryStates } from '../../core/spool/delivery-states.ts';

/** The states in the order the API lists them (and the CLI prints them). */
export { deliveryStates };

/** Deliveries per state; every state is present, zero when empty. */
export const QueueCounts = Type.Record(Type.Enum(deliveryStates), Type.Integer({ minimum: 0 }), { description: 'deliveries per state' });

/** `GET /api/admin/v1/queue`: counts in total and per instance name. */
export const QueueView = Type.Object({
  total: QueueCounts,
  instances: Type.Record(Type.String(), QueueCounts, { description: 'instance name → counts' }),
});

export const QueueDomainsQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }) });

/** Deliveries still to be sent, per destination domain, largest first. */
export const QueueDomains = Type.Object({
  domains: Type.Array(Type.Object({ domain: Type.String(), scheduled: Type.Integer(), inflight: Type.Integer() })),
});

export type QueueCounts = Static<typeof QueueCounts>;
export type QueueView = Static<typeof QueueView>;
export type QueueDomains = Static<typeof QueueDomains>;
