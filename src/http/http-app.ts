import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import type { Services } from '../app/services.ts';
import { adminPlugin } from './admin-plugin.ts';
import { senderRoutes } from './sender-routes.ts';
import { injectPlugin } from './inject-plugin.ts';
import { opsPlugin } from './ops-plugin.ts';
import { statusPlugin } from './status-plugin.ts';
import { unsubscribePlugin } from './unsubscribe-plugin.ts';
import { installProblemHandlers, sendProblem } from './problem.ts';
import { installJsonHygiene } from './json-hygiene.ts';
import { defaultHttpConnectionLimits, guardConnections } from './connection-guard.ts';
import { sessionPlugin } from './session-plugin.ts';
import { consoleRoutes } from './console-routes.ts';
import { consolePlugin } from './console-plugin.ts';
import { Problem } from './schemas/common.ts';
import type { HttpApp } from './typed-app.ts';

/**
 * Bodies of every route but the message routes (which set their own, from the message
 * size): admin, session, suppressions, webhooks and requests are small JSON documents.
 */
export const smallBodyLimit = 64 * 1024;

/** The HTTP API: one encapsulated plugin per surface, each with its own auth. */
export async function buildHttpApp(services: Services, log: Logger): Promise<HttpApp> {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: smallBodyLimit,
    // A path segment may be an email address (up to 320 octets, more once percent-encoded).
    routerOptions: { maxParamLength: 1024 },
    // A URL the router cannot take (bad encoding, a segment past the limit) is answered like any other error.
    frameworkErrors: (err, _request, reply) => sendProblem(reply, 'invalid-request', err.message),
  }) as unknown as HttpApp;
  guardConnections(app.server, { ...defaultHttpConnectionLimits, ...services.config.httpConnections }, services.metrics);
  installProblemHandlers(app);
  installJsonHygiene(app);
  app.addSchema(Problem);
  await registerOpenApi(app);
  await app.register(async (scope) => opsPlugin(scope, services));
  await app.register(async (scope) => injectPlugin(scope, services));
  await app.register(async (scope) => adminPlugin(scope, services));
  await app.register(async (scope) => senderRoutes(scope, services));
  await app.register(async (scope) => statusPlugin(scope, services));
  await app.register(async (scope) => unsubscribePlugin(scope, services));
  await app.register(async (scope) => sessionPlugin(scope, services));
  await app.register(async (scope) => consoleRoutes(scope, services));
  await app.register(async (scope) => consolePlugin(scope));
  return app;
}

/**
 * The OpenAPI document is built from the routes' own schemas: `/api/openapi.json`, and a
 * browsable page at `/api/docs`. Both are open: they describe the API, they hold no data.
 */
async function registerOpenApi(app: HttpApp): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'mailshift',
        version: '1',
        description: 'Sending infrastructure for campaign platforms: the instance API, the operators\u2019 admin API and the customers\u2019 status API.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'an instance API key' },
          adminToken: { type: 'http', scheme: 'bearer', description: 'the admin token (or an operator session cookie)' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'the scrape token (MAILSHIFT_METRICS_TOKEN), for /metrics only' },
        },
      },
    },
    // Shared schemas keep their own names in components.schemas (`Problem`, not `def-0`).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => ({
      schema: url.startsWith('/api/') || url === '/healthz' || url === '/metrics' ? schema : { ...schema, hide: true },
      url,
      route,
    }),
  });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    // No validator badge: the page makes no request to another host.
    uiConfig: { deepLinking: false, validatorUrl: null },
    staticCSP: true,
    // The API is served over plain HTTP behind the operator's proxy or on loopback: a CSP that
    // upgrades every request to https would leave the page blank.
    transformStaticCSP: (header) => header.replace(/upgrade-insecure-requests;?\s*/, ''),
  });
}
