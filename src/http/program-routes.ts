import type { FastifyInstance } from 'fastify';
import type { Services } from '../app/services.ts';
import type { Plan } from '../core/upgrade/program.ts';
import { DomainError } from '../core/errors.ts';
import { hashStatusToken, newStatusToken } from '../app/status-token.ts';

const prefix = '/api/admin/v1';

/** Operators' program routes; mounted inside the admin plugin (admin token). */
export async function programRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const s = services.programService;

  app.get(`${prefix}/programs`, async () => ({
    programs: (await services.programs.list()).map((p) => ({ name: p.name, state: p.state, from: p.spec.sourceInfrastructure, to: p.spec.targetInfrastructure, createdAt: new Date(p.createdAt).toISOString() })),
  }));

  app.post(`${prefix}/programs`, async (request, reply) => {
    const program = await s.create((request.body ?? {}) as Record<string, unknown>);
    return reply.code(201).send({ name: program.name, state: program.state, spec: program.spec });
  });

  app.get(`${prefix}/programs/:name/plan`, async (request) => {
    const { plan, program, perInstanceMs } = await s.plan((request.params as { name: string }).name);
    return { program: program.name, state: program.state, perInstanceMs, ...planView(plan) };
  });

  app.post(`${prefix}/programs/:name/publish`, async (request) => {
    const { program, plan, notices } = await s.publish((request.params as { name: string }).name);
    return { program: program.name, state: program.state, notices, ...planView(plan) };
  });

  app.post(`${prefix}/programs/:name/resume`, async (request) => {
    const program = await s.resume((request.params as { name: string }).name);
    return { program: program.name, state: program.state };
  });

  app.get(`${prefix}/programs/:name/status`, async (request) => s.status((request.params as { name: string }).name));

  app.get(`${prefix}/programs/:name/notices`, async (request) => {
    const program = await s.get((request.params as { name: string }).name);
    return { notices: (await services.programs.notices({ programId: program.id })).map(noticeView) };
  });

  app.get(`${prefix}/customers/:name/notices`, async (request) => {
    const customer = await services.fleetRepository.findCustomer((request.params as { name: string }).name);
    if (!customer) return { notices: [] };
    return { notices: (await services.programs.notices({ customerId: customer.id })).map(noticeView) };
  });

  app.get(`${prefix}/instances/:name/upgrade`, async (request) => {
    const instance = await services.fleet.instanceByName((request.params as { name: string }).name);
    return s.instanceStatus(instance, () => services.suspensions.heldCount(instance.id));
  });

  /** A new link to the customer's status page; the previous one stops working. */
  app.post(`${prefix}/customers/:name/status-token`, async (request, reply) => {
    const name = (request.params as { name: string }).name;
    const customer = await services.fleetRepository.findCustomer(name);
    if (!customer) throw new DomainError('not-found', `no customer named ${JSON.stringify(name)}`);
    const token = newStatusToken();
    await services.programs.setStatusToken(customer.id, hashStatusToken(token), services.clock.now());
    return reply.code(201).send({ customer: name, token, api: `/api/status/v1/${token}`, page: `/status/${token}` });
  });

  for (const kind of ['reschedule', 'opt-out'] as const) {
    app.post(`${prefix}/instances/:name/${kind === 'reschedule' ? 'reschedule-request' : 'opt-out'}`, async (request) => {
      const instance = await services.fleet.instanceByName((request.params as { name: string }).name);
      const reason = ((request.body ?? {}) as { reason?: unknown }).reason;
      return s.request(instance, kind, typeof reason === 'string' ? reason : '');
    });
  }
}

export function planView(plan: Plan) {
  return {
    start: new Date(plan.start).toISOString(),
    end: new Date(plan.end).toISOString(),
    totalMs: plan.totalMs,
    notes: plan.notes,
    waves: plan.waves.map((w) => ({
      index: w.index,
      phase: w.phase,
      retry: w.retry,
      start: new Date(w.start).toISOString(),
      end: new Date(w.end).toISOString(),
      estimateMs: w.estimateMs,
      instances: w.instances.map((i) => i.name),
    })),
  };
}

export function noticeView(n: { id: number; kind: string; email: string; locale: string; timezone: string; wave_idx: number; due_at: number; state: string; subject: string | null; body: string | null; sent_at: number | null }) {
  return {
    id: n.id,
    kind: n.kind,
    to: n.email,
    locale: n.locale,
    timezone: n.timezone,
    wave: n.wave_idx,
    dueAt: new Date(n.due_at).toISOString(),
    state: n.state,
    sentAt: n.sent_at === null ? null : new Date(n.sent_at).toISOString(),
    subject: n.subject,
    body: n.body,
  };
}
