import type { FastifyRequest } from 'fastify';
import { Type, type TObject, type TProperties } from 'typebox';
import type { Instance } from '../core/fleet/fleet.ts';
import type { Services } from '../app/services.ts';
import { NoContent, responses } from './schemas/common.ts';
import { AddressParams, SuppressionAdded, SuppressionBody, SuppressionList } from './schemas/suppressions.ts';
import { WebhookBody, WebhookCreated, WebhookIdParams, WebhookList } from './schemas/webhooks.ts';
import type { HttpApp } from './typed-app.ts';

/** Finds the instance a route acts on: the key's own, or the operator's `:name`. */
export type Resolve = (request: FastifyRequest) => Promise<Instance>;

/**
 * How a mount is told apart: the params of its prefix (the admin API's `:name`, as
 * `NameParams`), and who may call it. The instance API's prefix has no params.
 */
export interface Mount<P extends TProperties = TProperties> {
  prefixParams?: TObject<P>;
  security?: Record<string, string[]>[];
  tags?: string[];
}

/** Suppression list routes, mounted for an instance's own key and for operators. */
export async function suppressionRoutes(
  app: HttpApp,
  services: Pick<Services, 'suppressionService'>,
  prefix: string,
  resolve: Resolve,
  mount: Mount = {},
): Promise<void> {
  const { security, tags = ['suppressions'] } = mount;
  const prefixParams = mount.prefixParams?.properties ?? {};
  const list = services.suppressionService;
  const params = mount.prefixParams ? { params: Type.Object(prefixParams) } : {};

  app.get(
    prefix,
    { schema: { tags, security, summary: 'The suppression list', ...params, response: responses({ 200: SuppressionList }) } },
    async (request) => {
      const suppressions = await list.list(await resolve(request));
      return { suppressions: suppressions.map((s) => ({ address: s.address, reason: s.reason, createdAt: new Date(s.createdAt).toISOString() })) };
    },
  );

  app.post(
    prefix,
    {
      schema: {
        tags,
        security,
        summary: 'Suppress an address',
        ...params,
        body: SuppressionBody,
        response: responses({ 200: SuppressionAdded, 201: SuppressionAdded }),
      },
    },
    async (request, reply) => {
      const added = await list.add(await resolve(request), request.body.address, request.body.reason);
      return reply.code(added.added ? 201 : 200).send(added);
    },
  );

  app.delete(
    `${prefix}/:address`,
    {
      schema: {
        tags,
        security,
        summary: 'Remove an address from the suppression list',
        params: Type.Object({ ...prefixParams, ...AddressParams.properties }),
        response: responses({ 204: NoContent }),
      },
    },
    async (request, reply) => {
      await list.remove(await resolve(request), request.params.address);
      return reply.code(204).send(null);
    },
  );
}

/** Webhook routes: each webhook gets its own signing secret, shown once (see WebhookService). */
export async function webhookRoutes(
  app: HttpApp,
  services: Pick<Services, 'webhookService'>,
  prefix: string,
  resolve: Resolve,
  mount: Mount = {},
): Promise<void> {
  const { security, tags = ['webhooks'] } = mount;
  const prefixParams = mount.prefixParams?.properties ?? {};
  const webhooks = services.webhookService;
  const params = mount.prefixParams ? { params: Type.Object(prefixParams) } : {};

  app.get(prefix, { schema: { tags, security, summary: 'The webhooks', ...params, response: responses({ 200: WebhookList }) } }, async (request) => {
    const hooks = await webhooks.list(await resolve(request));
    return { webhooks: hooks.map(({ id, url, failures, lastError }) => ({ id, url, failures, lastError })) };
  });

  app.post(
    prefix,
    { schema: { tags, security, summary: 'Add a webhook', ...params, body: WebhookBody, response: responses({ 201: WebhookCreated }) } },
    async (request, reply) => reply.code(201).send(await webhooks.create(await resolve(request), request.body.url)),
  );

  app.delete(
    `${prefix}/:id`,
    {
      schema: {
        tags,
        security,
        summary: 'Delete a webhook',
        params: Type.Object({ ...prefixParams, ...WebhookIdParams.properties }),
        response: responses({ 204: NoContent }),
      },
    },
    async (request, reply) => {
      await webhooks.remove(await resolve(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
}
