import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Services } from '../app/services.ts';
import type { Kysely } from 'kysely';

/** Liveness and Prometheus metrics; no auth, as scrapers and probes expect. */
export async function opsPlugin(app: FastifyInstance, services: Services & { db: Kysely<unknown> }): Promise<void> {
  app.get('/healthz', async (_request, reply) => {
    try {
      await sql`select 1`.execute(services.db);
      return { status: 'ok', engine: services.engine.running ? 'running' : 'stopped' };
    } catch (err) {
      return reply.code(503).type('application/problem+json').send({ type: 'urn:mailshift:problem:unavailable', title: 'Store unreachable', status: 503, detail: String(err), code: 'unavailable' });
    }
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(services.metrics.registry.contentType);
    return services.metrics.registry.metrics();
  });
}
