import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Services } from '../app/services.ts';
import { formatRelay } from '../core/fleet/fleet-input.ts';
import { ConsoleQueries } from '../store/console-queries.ts';
import type { Database } from '../store/schema.ts';
import { noticeView } from './program-routes.ts';
import { requireOperator } from './session-plugin.ts';
import { iso } from './views.ts';

const prefix = '/api/admin/v1';
const hour = 3_600_000;

/** Read-only views the console needs beyond the admin API; admin token or operator session. */
export async function consoleRoutes(app: FastifyInstance, services: Services & { db: Kysely<unknown> }): Promise<void> {
  const queries = new ConsoleQueries(services.db as unknown as Kysely<Database>);
  app.addHook('onRequest', requireOperator(services));

  app.get(`${prefix}/delivery/timeline`, async (request) => {
    const q = request.query as { hours?: string; buckets?: string };
    const hours = clamp(Number(q.hours ?? 24), 1, 24 * 31);
    const count = clamp(Number(q.buckets ?? 48), 1, 500);
    const bucketMs = Math.ceil((hours * hour) / count);
    const until = services.clock.now();
    const since = until - bucketMs * count;
    const buckets = await queries.timeline(since, until, bucketMs);
    return { since: iso(since), until: iso(until), bucketMs, buckets: buckets.map((b) => ({ start: iso(b.start), ...b.counts })) };
  });

  app.get(`${prefix}/queue/domains`, async (request) => {
    const limit = clamp(Number((request.query as { limit?: string }).limit ?? 50), 1, 1000);
    return { domains: await queries.queueByDomain(limit) };
  });

  app.get(`${prefix}/instances/:name/pending`, async (request) => {
    const instance = await services.fleet.instanceByName((request.params as { name: string }).name);
    const limit = clamp(Number((request.query as { limit?: string }).limit ?? 100), 1, 1000);
    const [held, deliveries] = await Promise.all([services.suspensions.heldCount(instance.id), queries.pendingDeliveries(instance.id, limit)]);
    return {
      instance: instance.name,
      suspended: instance.suspended,
      scheduled: held,
      deliveries: deliveries.map((d) => ({ ...d, createdAt: iso(d.createdAt), dueAt: iso(d.dueAt) })),
    };
  });

  app.get(`${prefix}/infrastructures/overview`, async () => {
    const now = services.clock.now();
    const [infras, instances, prechecks, outcomes] = await Promise.all([
      services.fleetRepository.listInfrastructures(),
      services.fleetRepository.listInstances(),
      queries.lastPrechecks(),
      queries.outcomesByInfrastructure(now - hour),
    ]);
    return {
      since: iso(now - hour),
      capped: outcomes.capped,
      infrastructures: infras.map((i) => {
        const check = prechecks.find((p) => p.infrastructure === i.name);
        return {
          name: i.name,
          deliveryMode: i.deliveryMode,
          relays: i.relays.map(formatRelay),
          heloName: i.heloName,
          verificationAddress: i.verificationAddress,
          instances: instances.filter((x) => x.infrastructureId === i.id && !x.system).length,
          lastPrecheck: check ? { at: iso(check.at), ok: check.ok, program: check.program, detail: check.detail } : null,
          lastHour: outcomes.counts.get(i.id) ?? { delivered: 0, deferred: 0, bounced: 0 },
        };
      }),
    };
  });

  app.get(`${prefix}/switches/open`, async () => ({ switches: await queries.openSwitches() }));

  app.get(`${prefix}/notices`, async (request) => {
    const limit = clamp(Number((request.query as { limit?: string }).limit ?? 200), 1, 1000);
    const rows = await queries.notices(limit);
    return { notices: rows.map((n) => ({ ...noticeView(n), customer: n.customer, program: n.program })) };
  });
}

function clamp(n: number, min: number, max: number): number {
  return Number.isFinite(n) ? Math.min(Math.max(Math.round(n), min), max) : min;
}
