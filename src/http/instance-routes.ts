import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { DomainError } from '../core/errors.ts';
import type { Instance } from '../core/fleet/fleet.ts';
import type { Services } from '../app/services.ts';
import { asciiAddress } from '../app/idn-address.ts';
import { maxWebhookUrlLength, parseWebhookUrl } from '../core/net/webhook-url.ts';
import { WebhookTargets } from '../engine/webhook-target.ts';
import { sendProblem } from './problem.ts';
import { iso } from './views.ts';

type Resolve = (request: FastifyRequest) => Promise<Instance>;

/** Suppression list routes, mounted for an instance's own key and for operators. */
export async function suppressionRoutes(app: FastifyInstance, services: Services, prefix: string, resolve: Resolve): Promise<void> {
  app.get(prefix, async (request) => {
    const instance = await resolve(request);
    const list = await services.suppressions.list(instance.id);
    return { suppressions: list.map((s) => ({ address: s.address, reason: s.reason, createdAt: iso(s.createdAt) })) };
  });

  app.post(prefix, { schema: { body: { type: 'object', required: ['address'], properties: { address: { type: 'string', maxLength: 320 }, reason: { type: 'string', maxLength: 500 } }, additionalProperties: false } } }, async (request, reply) => {
    const instance = await resolve(request);
    const body = request.body as { address: string; reason?: string };
    // Stored as deliveries are (A-label domains), so the suppression matches whichever form is sent to.
    const address = asciiAddress(body.address);
    if (!address.ok) throw new DomainError(address.error.code, address.error.detail);
    const added = await services.suppressions.add(instance.id, address.value, body.reason ?? 'added by API', services.clock.now());
    return reply.code(added ? 201 : 200).send({ address: address.value.toLowerCase(), added });
  });

  app.delete(`${prefix}/:address`, async (request, reply) => {
    const instance = await resolve(request);
    const { address } = request.params as { address: string };
    if (!(await services.suppressions.remove(instance.id, address))) return sendProblem(reply, 'not-found', `${address} is not suppressed`);
    return reply.code(204).send();
  });
}

/**
 * Webhook routes: each webhook gets its own signing secret, shown once. A target must be
 * reachable on the public Internet (or in a network the operator allowed); the sender
 * checks it again at every send.
 */
export async function webhookRoutes(app: FastifyInstance, services: Services, prefix: string, resolve: Resolve): Promise<void> {
  const targets = new WebhookTargets(services.config.webhookAllowNetworks);

  app.get(prefix, async (request) => {
    const instance = await resolve(request);
    const hooks = await services.webhooks.list(instance.id);
    return { webhooks: hooks.map(({ id, url, failures, lastError }) => ({ id, url, failures, lastError })) };
  });

  const body = { type: 'object', required: ['url'], properties: { url: { type: 'string', maxLength: maxWebhookUrlLength } }, additionalProperties: false };
  app.post(prefix, { schema: { body } }, async (request, reply) => {
    const instance = await resolve(request);
    const parsed = parseWebhookUrl((request.body as { url: string }).url);
    if (!parsed.ok) throw new DomainError(parsed.error.code, parsed.error.detail);
    const target = await targets.check(parsed.value);
    if (!target.ok) throw new DomainError(target.error.code, target.error.detail);
    const url = parsed.value.href;
    const secret = randomBytes(24).toString('base64url');
    const limit = services.config.maxWebhooksPerInstance;
    // Events from now on: a new endpoint is not flooded with history.
    const created = await services.webhooks.createLimited(limit, instance.id, url, secret, await services.webhooks.lastEventId(), services.clock.now());
    if (created.kind === 'limit-reached') throw new DomainError('limit-reached', `an instance may have at most ${limit} webhooks; delete one before adding another`);
    return reply.code(201).send({ id: created.webhook.id, url, secret });
  });

  app.delete(`${prefix}/:id`, async (request, reply) => {
    const instance = await resolve(request);
    const id = Number((request.params as { id: string }).id);
    const hooks = await services.webhooks.list(instance.id);
    if (!hooks.some((h) => h.id === id) || !(await services.webhooks.remove(id))) return sendProblem(reply, 'not-found', `no webhook ${id}`);
    return reply.code(204).send();
  });
}
