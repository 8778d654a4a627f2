import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Services } from '../app/services.ts';
import { guardedCheck, sameSecret } from './auth-door.ts';
import { bearer, sendProblem } from './problem.ts';

/**
 * Liveness (open, as probes expect) and Prometheus metrics, which name every instance and
 * its volumes: those need the admin token or the scrape token (MAILSHIFT_METRICS_TOKEN).
 */
export async function opsPlugin(app: FastifyInstance, services: Services & { db: Kysely<unknown> }): Promise<void> {
  app.get('/healthz', async (request, reply) => {
    try {
      await sql`select 1`.execute(services.db);
      return { status: 'ok', engine: services.engine.running ? 'running' : 'stopped' };
    } catch (err) {
      // The endpoint is open: the driver's message (hosts, schema) goes to the log only.
      request.log.error({ err }, 'health check: the store does not answer');
      return sendProblem(reply, 'unavailable', 'the store does not answer');
    }
  });

  const scrapeToken = services.config.metricsToken;
  const which = (token: string) => (sameSecret(token, services.adminToken) ? 'admin' : scrapeToken !== undefined && sameSecret(token, scrapeToken) ? 'metrics' : null);
  app.get('/metrics', async (request, reply) => {
    const token = bearer(request.headers.authorization);
    if (!token) return sendProblem(reply, 'auth-required', 'send the admin or metrics token as "Authorization: Bearer <token>"');
    // Counted as the admin account, since a wrong guess here may be a guess at the admin
    // token; only the admin token itself clears that account's failures.
    const ok = await guardedCheck(services.authGuard, 'admin', request, reply, 'admin', () => which(token), 'the token is not valid for /metrics', (found) => found === 'admin');
    if (!ok) return reply;
    reply.type(services.metrics.registry.contentType);
    return services.metrics.registry.metrics();
  });
}
