import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Kysely } from 'kysely';
import type { Services } from '../app/services.ts';
import { adminPlugin } from './admin-plugin.ts';
import { injectPlugin } from './inject-plugin.ts';
import { opsPlugin } from './ops-plugin.ts';
import { statusPlugin } from './status-plugin.ts';
import { installProblemHandlers } from './problem.ts';
import { installJsonHygiene } from './json-hygiene.ts';
import { defaultHttpConnectionLimits, guardConnections } from './connection-guard.ts';
import { sessionPlugin } from './session-plugin.ts';
import { consoleRoutes } from './console-routes.ts';
import { consolePlugin } from './console-plugin.ts';

/**
 * Bodies of every route but the message routes (which set their own, from the message
 * size): admin, session, suppressions, webhooks and requests are small JSON documents.
 */
export const smallBodyLimit = 64 * 1024;

/** The HTTP API: one encapsulated plugin per surface, each with its own auth. */
export async function buildHttpApp(services: Services & { db: Kysely<unknown> }, log: Logger): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: smallBodyLimit }) as unknown as FastifyInstance;
  guardConnections(app.server, { ...defaultHttpConnectionLimits, ...services.config.httpConnections }, services.metrics);
  installProblemHandlers(app);
  installJsonHygiene(app);
  await app.register(async (scope) => opsPlugin(scope, services));
  await app.register(async (scope) => injectPlugin(scope, services));
  await app.register(async (scope) => adminPlugin(scope, services));
  await app.register(async (scope) => statusPlugin(scope, services));
  await app.register(async (scope) => sessionPlugin(scope, services));
  await app.register(async (scope) => consoleRoutes(scope, services));
  await app.register(async (scope) => consolePlugin(scope));
  return app;
}
