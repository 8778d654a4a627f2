import { iso } from './presenters/timestamp.ts';
import type { FastifyRequest } from 'fastify';
import type { Services } from '../app/services.ts';
import { DomainError } from '../core/errors.ts';
import { suppressionRoutes, webhookRoutes, type Mount } from './instance-routes.ts';
import { captureView } from './presenters/capture-view.ts';
import { clusterView } from './presenters/cluster-view.ts';
import { customerView, infrastructureView, instanceDetailView, instanceRowView, instanceView } from './presenters/fleet-view.ts';
import { messageView } from './presenters/message-view.ts';
import { programRoutes } from './program-routes.ts';
import { reputationRoutes } from './reputation-routes.ts';
import { CaptureList, CaptureQuery } from './schemas/capture.ts';
import { ClusterView } from './schemas/cluster.ts';
import { NameParams, NoContent, responses } from './schemas/common.ts';
import {
  Customer,
  CustomerBody,
  CustomerList,
  Infrastructure,
  InfrastructureBody,
  InfrastructureList,
  InstanceBody,
  InstanceCreated,
  InstanceDetail,
  InstanceList,
  Resumed,
  SuspendBody,
  Suspended,
} from './schemas/fleet.ts';
import { MessageIdParams, MessageView } from './schemas/messages.ts';
import { QueueView } from './schemas/queue.ts';
import { absentBodyIsEmpty, requireOperator, type OperatorDoor } from './session-plugin.ts';
import type { HttpApp } from './typed-app.ts';

const prefix = '/api/admin/v1';
const security = [{ adminToken: [] }];

export type AdminServices = OperatorDoor &
  Pick<
    Services,
    | 'fleet'
    | 'fleetReads'
    | 'captureService'
    | 'messages'
    | 'programService'
    | 'upgradeStatus'
    | 'suppressionService'
    | 'webhookService'
    | 'cluster'
    | 'reputation'
  >;

/** The operators' API: fleet, queue, capture, suspension, programs, nodes. Admin token or operator session. */
export async function adminPlugin(app: HttpApp, services: AdminServices): Promise<void> {
  // The admin token is rate-limited per source and as one account; sessions are checked against the store.
  app.addHook('onRequest', requireOperator(services));
  app.addHook('preValidation', absentBodyIsEmpty);
  const { fleet, fleetReads: reads } = services;
  const fleetTags = ['fleet'];

  app.get(
    `${prefix}/customers`,
    { schema: { tags: fleetTags, security, summary: 'Every customer', response: responses({ 200: CustomerList }) } },
    async () => ({
      customers: (await reads.customers()).map(customerView),
    }),
  );

  app.post(
    `${prefix}/customers`,
    { schema: { tags: fleetTags, security, summary: 'Create a customer', body: CustomerBody, response: responses({ 201: Customer }) } },
    async (request, reply) => reply.code(201).send(customerView(await fleet.createCustomer(request.body))),
  );

  app.get(
    `${prefix}/infrastructures`,
    { schema: { tags: fleetTags, security, summary: 'Every infrastructure', response: responses({ 200: InfrastructureList }) } },
    async () => ({
      infrastructures: (await reads.infrastructures()).map(infrastructureView),
    }),
  );

  app.post(
    `${prefix}/infrastructures`,
    {
      schema: {
        tags: fleetTags,
        security,
        summary: 'Create an infrastructure (a sending path)',
        body: InfrastructureBody,
        response: responses({ 201: Infrastructure }),
      },
    },
    async (request, reply) => reply.code(201).send(infrastructureView(await fleet.createInfrastructure(request.body))),
  );

  app.get(
    `${prefix}/instances`,
    { schema: { tags: fleetTags, security, summary: 'Every instance with its queue', response: responses({ 200: InstanceList }) } },
    async () => ({
      instances: (await reads.instances()).map(instanceRowView),
    }),
  );

  app.post(
    `${prefix}/instances`,
    {
      schema: {
        tags: fleetTags,
        security,
        summary: 'Create an instance; its credentials are shown once',
        body: InstanceBody,
        response: responses({ 201: InstanceCreated }),
      },
    },
    async (request, reply) => {
      const { instance, credentials } = await fleet.createInstance(request.body);
      return reply.code(201).send({ instance: instanceView(instance, request.body), credentials });
    },
  );

  app.get(
    `${prefix}/instances/:name`,
    {
      schema: {
        tags: fleetTags,
        security,
        summary: 'One instance with its queue and latest events',
        params: NameParams,
        response: responses({ 200: InstanceDetail }),
      },
    },
    async (request) => instanceDetailView(await reads.instance(request.params.name)),
  );

  app.post(
    `${prefix}/instances/:name/suspend`,
    {
      schema: {
        tags: fleetTags,
        security,
        summary: 'Hold the instance\u2019s sending (injection goes on, nothing expires)',
        params: NameParams,
        body: SuspendBody,
        response: responses({ 200: Suspended }),
      },
    },
    async (request) => {
      const { name } = request.params;
      const result = await fleet.suspend(name, request.body.reason ?? 'operator');
      return { instance: name, suspended: true as const, since: 'at' in result ? iso(result.at) : null, alreadySuspended: result.kind === 'already-suspended' };
    },
  );

  app.post(
    `${prefix}/instances/:name/resume`,
    { schema: { tags: fleetTags, security, summary: 'Release the instance\u2019s held sending', params: NameParams, response: responses({ 200: Resumed }) } },
    async (request) => {
      const { name } = request.params;
      const result = await fleet.resume(name);
      if (result.kind === 'resumed') return { instance: name, suspended: false as const, heldMs: result.heldMs, released: result.released };
      return { instance: name, suspended: false as const, heldMs: 0, released: 0, wasSuspended: false as const };
    },
  );

  const instanceOf = (request: FastifyRequest) => fleet.instanceByName(nameParam(request));
  const mount = (tag: string): Mount => ({ prefixParams: NameParams, security, tags: [tag] });
  await suppressionRoutes(app, services, `${prefix}/instances/:name/suppressions`, instanceOf, mount('suppressions'));
  await webhookRoutes(app, services, `${prefix}/instances/:name/webhooks`, instanceOf, mount('webhooks'));

  await programRoutes(app, services);
  await reputationRoutes(app, services);

  app.get(
    `${prefix}/queue`,
    { schema: { tags: ['queue'], security, summary: 'Deliveries per state, in total and per instance', response: responses({ 200: QueueView }) } },
    async () => reads.queue(),
  );

  app.get(
    `${prefix}/nodes`,
    {
      schema: {
        tags: ['cluster'],
        security,
        summary: 'The cluster\u2019s nodes (running, or stopped within the hour) and which one leads',
        response: responses({ 200: ClusterView }),
      },
    },
    async () => clusterView(await services.cluster.view()),
  );

  app.get(
    `${prefix}/messages/:id`,
    {
      schema: {
        tags: ['messages'],
        security,
        summary: 'A message of any instance, with its deliveries and events',
        params: MessageIdParams,
        response: responses({ 200: MessageView }),
      },
    },
    async (request) => messageView(await services.messages.get(request.params.id)),
  );

  const captureTags = ['capture'];
  app.get(
    `${prefix}/capture/messages`,
    {
      schema: {
        tags: captureTags,
        security,
        summary: 'Mail caught by the built-in capture server, newest first',
        querystring: CaptureQuery,
        response: responses({ 200: CaptureList }),
      },
    },
    async (request) => ({ messages: (await services.captureService.list(request.query.limit, request.query.raw)).map(captureView) }),
  );

  app.delete(
    `${prefix}/capture/messages`,
    { schema: { tags: captureTags, security, summary: 'Forget every captured message', response: responses({ 204: NoContent }) } },
    async (_request, reply) => {
      await services.captureService.clear();
      return reply.code(204).send(null);
    },
  );
}

/**
 * The `:name` of the mounts' prefix. Their routes declare it in their params schema, so it
 * is there; the shared routes read the request untyped, hence the check instead of a cast.
 */
function nameParam(request: FastifyRequest): string {
  const params = request.params;
  if (typeof params === 'object' && params !== null && 'name' in params && typeof params.name === 'string') return params.name;
  throw new DomainError('invalid-request', 'the route has no instance name');
}
