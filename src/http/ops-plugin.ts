import type { Services } from '../app/services.ts';
import { guardedCheck, sameSecret } from './auth-door.ts';
import { bearer, sendProblem } from './problem.ts';
import { responses } from './schemas/common.ts';
import { Health, MetricsText } from './schemas/ops.ts';
import type { HttpApp } from './typed-app.ts';

/**
 * Liveness (open, as probes expect) and Prometheus metrics, which name every instance and
 * its volumes: those need the admin token or the scrape token (MAILSHIFT_METRICS_TOKEN).
 */
export async function opsPlugin(app: HttpApp, services: Pick<Services, 'health' | 'config' | 'adminToken' | 'authGuard' | 'metrics'>): Promise<void> {
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness: the store answers', response: responses({ 200: Health }) } }, async (request, reply) => {
    const health = await services.health.check();
    if (health.ok) return { status: 'ok' as const, engine: health.engine };
    // The endpoint is open: the driver's message (hosts, schema) goes to the log only.
    request.log.error({ err: health.error }, 'health check: the store does not answer');
    return sendProblem(reply, 'unavailable', 'the store does not answer');
  });

  const scrapeToken = services.config.metricsToken;
  const which = (token: string) =>
    sameSecret(token, services.adminToken) ? 'admin' : scrapeToken !== undefined && sameSecret(token, scrapeToken) ? 'metrics' : null;
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics (the admin or the scrape token)',
        security: [{ adminToken: [] }, { metricsToken: [] }],
        response: responses({ 200: MetricsText }),
      },
    },
    async (request, reply) => {
      const token = bearer(request.headers.authorization);
      if (!token) return sendProblem(reply, 'auth-required', 'send the admin or metrics token as "Authorization: Bearer <token>"');
      // Counted as the admin account, since a wrong guess here may be a guess at the admin
      // token; only the admin token itself clears that account's failures.
      const ok = await guardedCheck(
        services.authGuard,
        'admin',
        request,
        reply,
        'admin',
        () => which(token),
        'the token is not valid for /metrics',
        (found) => found === 'admin',
      );
      if (!ok) return reply;
      reply.type(services.metrics.registry.contentType);
      return services.metrics.registry.metrics();
    },
  );
}
