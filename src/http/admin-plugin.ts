import type { FastifyInstance, FastifyRequest } from 'fastify';
import { formatRelay } from '../core/fleet/fleet-input.ts';
import type { Infrastructure } from '../core/fleet/fleet.ts';
import { checkMessage, headerValue } from '../core/spool/message-check.ts';
import { sendProblem } from './problem.ts';
import { instanceView, iso, messageView, queueView } from './views.ts';
import { suppressionRoutes, webhookRoutes } from './instance-routes.ts';
import { programRoutes } from './program-routes.ts';
import { requireOperator, type HttpServices } from './session-plugin.ts';

const prefix = '/api/admin/v1';

/** The operators' API: fleet, queue, capture, suspension. Bearer admin token. */
export async function adminPlugin(app: FastifyInstance, services: HttpServices): Promise<void> {
  // The admin token is rate-limited per source and as one account; sessions are checked against the store.
  app.addHook('onRequest', requireOperator(services));

  const instanceParam = async (request: FastifyRequest) => services.fleet.instanceByName((request.params as { name: string }).name);

  app.get(`${prefix}/customers`, async () => ({ customers: (await services.fleetRepository.listCustomers()).map(customerView) }));
  app.post(`${prefix}/customers`, async (request, reply) => {
    const body = (request.body ?? {}) as { name?: unknown; contacts?: unknown };
    return reply.code(201).send(customerView(await services.fleet.createCustomer({ name: body.name, contacts: body.contacts })));
  });

  app.get(`${prefix}/infrastructures`, async () => ({ infrastructures: (await services.fleetRepository.listInfrastructures()).map(infrastructureView) }));
  app.post(`${prefix}/infrastructures`, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    return reply.code(201).send(infrastructureView(await services.fleet.createInfrastructure({ ...body, name: body.name })));
  });

  app.get(`${prefix}/instances`, async () => {
    const [instances, customers, infras, queue] = await Promise.all([
      services.fleetRepository.listInstances(),
      services.fleetRepository.listCustomers(),
      services.fleetRepository.listInfrastructures(),
      queueView(services),
    ]);
    const customer = new Map(customers.map((c) => [c.id, c.name]));
    const infra = new Map(infras.map((i) => [i.id, i.name]));
    return {
      instances: instances.map((i) =>
        instanceView(i, { customer: customer.get(i.customerId) ?? '', infrastructure: infra.get(i.infrastructureId) ?? '' }, queue.instances[i.name]),
      ),
    };
  });

  app.post(`${prefix}/instances`, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const { instance, credentials } = await services.fleet.createInstance({
      name: body.name,
      customer: body.customer,
      productLine: body.productLine,
      environment: body.environment,
      infrastructure: body.infrastructure,
      allowFrom: body.allowFrom,
    });
    return reply.code(201).send({
      instance: instanceView(instance, { customer: String(body.customer), infrastructure: String(body.infrastructure) }),
      credentials,
    });
  });

  app.get(`${prefix}/instances/:name`, async (request) => {
    const instance = await instanceParam(request);
    const [customers, infra, queue, events] = await Promise.all([
      services.fleetRepository.listCustomers(),
      services.fleetRepository.findInfrastructure({ id: instance.infrastructureId }),
      queueView(services),
      services.spool.recentEvents(instance.id, 50),
    ]);
    return {
      ...instanceView(instance, { customer: customers.find((c) => c.id === instance.customerId)?.name ?? '', infrastructure: infra?.name ?? '' }, queue.instances[instance.name]),
      recentEvents: events.map((e) => ({ ...e, at: iso(e.at) })),
    };
  });

  app.post(`${prefix}/instances/:name/suspend`, async (request) => {
    const { name } = request.params as { name: string };
    const reason = ((request.body ?? {}) as { reason?: unknown }).reason;
    const result = await services.fleet.suspend(name, typeof reason === 'string' ? reason : 'operator');
    return { instance: name, suspended: true, since: 'at' in result ? iso(result.at) : null, alreadySuspended: result.kind === 'already-suspended' };
  });

  app.post(`${prefix}/instances/:name/resume`, async (request) => {
    const { name } = request.params as { name: string };
    const result = await services.fleet.resume(name);
    if (result.kind === 'resumed') return { instance: name, suspended: false, heldMs: result.heldMs, released: result.released };
    return { instance: name, suspended: false, heldMs: 0, released: 0, wasSuspended: false };
  });

  await suppressionRoutes(app, services, `${prefix}/instances/:name/suppressions`, instanceParam);
  await webhookRoutes(app, services, `${prefix}/instances/:name/webhooks`, instanceParam);

  await programRoutes(app, services);

  app.get(`${prefix}/queue`, async () => queueView(services));

  app.get(`${prefix}/messages/:id`, async (request, reply) => {
    const { id } = request.params as { id: string };
    return (await messageView(services, id)) ?? sendProblem(reply, 'not-found', `no message ${id}`);
  });

  app.get(`${prefix}/capture/messages`, async (request) => {
    const query = request.query as { limit?: string; raw?: string };
    const limit = Math.min(Math.max(Number(query.limit ?? 50) || 50, 1), 1000);
    const messages = await services.captures.list(limit);
    return {
      messages: messages.map((m) => {
        const checked = checkMessage(m.raw);
        const headers = checked.ok ? checked.value.headers : [];
        return {
          id: m.id,
          mailFrom: m.mailFrom,
          recipients: m.recipients,
          subject: headerValue(headers, 'subject') ?? null,
          messageId: headerValue(headers, 'message-id') ?? null,
          size: m.raw.length,
          receivedAt: iso(m.receivedAt),
          ...(query.raw === 'true' ? { raw: m.raw.toString('utf8') } : {}),
        };
      }),
    };
  });
  app.delete(`${prefix}/capture/messages`, async (_request, reply) => {
    await services.captures.clear();
    return reply.code(204).send();
  });
}

function customerView(c: { name: string; contacts: unknown[]; createdAt: number }) {
  return { name: c.name, contacts: c.contacts, createdAt: iso(c.createdAt) };
}

export function infrastructureView(i: Infrastructure) {
  return {
    name: i.name,
    deliveryMode: i.deliveryMode,
    relays: i.relays.map(formatRelay),
    sourceAddresses: i.sourceAddresses,
    heloName: i.heloName,
    dkim: i.dkim.map(({ domain, selector }) => ({ domain, selector })),
    shaping: i.shaping,
    verificationAddress: i.verificationAddress,
    createdAt: iso(i.createdAt),
  };
}


