import type { FastifyRequest } from 'fastify';
import type { Instance } from '../core/fleet/fleet.ts';
import type { Services } from '../app/services.ts';
import { parseApiKey } from '../app/credentials.ts';
import { bearer, sendProblem } from './problem.ts';
import { guardedCheck } from './auth-door.ts';
import { bodyReservation } from './body-reservation.ts';
import { suppressionRoutes, webhookRoutes } from './instance-routes.ts';
import { messageView } from './presenters/message-view.ts';
import { Refusal, responses } from './schemas/common.ts';
import { BatchAccepted, BatchBody, IdempotencyHeaders, MessageAccepted, MessageBody, MessageIdParams, MessageView } from './schemas/messages.ts';
import { CustomerRequestBody, InstanceUpgradeStatus } from './schemas/upgrade-status.ts';
import type { HttpApp } from './typed-app.ts';

declare module 'fastify' {
  interface FastifyRequest {
    instance?: Instance;
  }
}

/** Routes whose bodies carry whole messages: their bytes are reserved from the in-flight budget before they are read. */
const messageRoutes = new Set(['/api/v1/messages', '/api/v1/messages/batch']);
const security = [{ apiKey: [] }];
const refusal = 'send an instance API key as "Authorization: Bearer <key>"';

/** The instance-facing API: authenticated by the instance's API key. */
export async function injectPlugin(app: HttpApp, services: Services): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    const key = bearer(request.headers.authorization);
    if (!key) return sendProblem(reply, 'auth-required', refusal);
    // The account is the key's lookup part: guesses at one key lock it, whatever the source.
    const account = parseApiKey(key)?.lookup ?? null;
    const instance = await guardedCheck(services.authGuard, 'api', request, reply, account, () => services.fleet.authenticateApiKey(key), refusal);
    if (!instance) return reply;
    request.instance = instance;
  });
  // After authentication, so a stranger cannot spend the budget.
  app.addHook('onRequest', bodyReservation(services, messageRoutes));

  app.post(
    '/api/v1/messages',
    {
      schema: {
        tags: ['messages'],
        summary: 'Send one message',
        security,
        headers: IdempotencyHeaders,
        body: MessageBody,
        response: responses({ 202: MessageAccepted }),
      },
      bodyLimit: Math.ceil(services.config.maxMessageBytes * 1.4) + 65536,
    },
    async (request, reply) => {
      const answer = await services.submissions.message(instanceOf(request), request.body, request.headers['idempotency-key']);
      if (answer.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(answer.body);
    },
  );

  app.post(
    '/api/v1/messages/batch',
    {
      schema: {
        tags: ['messages'],
        summary: 'Send one templated message to many recipients',
        security,
        headers: IdempotencyHeaders,
        body: BatchBody,
        response: responses({ 202: BatchAccepted }),
      },
      bodyLimit: 64 * 1024 * 1024,
    },
    async (request, reply) => {
      const abandoned = () => request.raw.socket?.destroyed === true;
      const answer = await services.submissions.batch(instanceOf(request), request.body, request.headers['idempotency-key'], abandoned);
      if (answer.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(answer.body);
    },
  );

  app.get(
    '/api/v1/messages/:id',
    {
      schema: {
        tags: ['messages'],
        summary: 'A message with its deliveries and events',
        security,
        params: MessageIdParams,
        response: responses({ 200: MessageView }),
      },
    },
    async (request) => messageView(await services.messages.get(request.params.id, instanceOf(request).id)),
  );

  app.get(
    '/api/v1/upgrade/status',
    { schema: { tags: ['upgrades'], summary: 'Where this instance\u2019s upgrade stands', security, response: responses({ 200: InstanceUpgradeStatus }) } },
    async (request) => services.upgradeStatus.ofInstance(instanceOf(request)),
  );

  // A customer may ask; the answer is recorded and is always a refusal with the reason.
  const askSchema = (summary: string) => ({ tags: ['upgrades'], summary, security, body: CustomerRequestBody, response: responses({ 409: Refusal }) });
  app.post('/api/v1/upgrade/reschedule-request', { schema: askSchema('Ask to move this instance\u2019s window (refused with the reason)') }, async (request) =>
    services.programService.request(instanceOf(request), 'reschedule', request.body?.reason ?? ''),
  );
  app.post('/api/v1/upgrade/opt-out', { schema: askSchema('Ask to leave the upgrade (refused with the reason)') }, async (request) =>
    services.programService.request(instanceOf(request), 'opt-out', request.body?.reason ?? ''),
  );

  await suppressionRoutes(app, services, '/api/v1/suppressions', async (request) => instanceOf(request), { security });
  await webhookRoutes(app, services, '/api/v1/webhooks', async (request) => instanceOf(request), { security });
}

/** The instance the onRequest hook authenticated; a route without one is a wiring bug. */
function instanceOf(request: FastifyRequest): Instance {
  if (!request.instance) throw new Error(`${request.url} ran without an authenticated instance`);
  return request.instance;
}
