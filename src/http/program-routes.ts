import type { Services } from '../app/services.ts';
import { noticeView, planView, programSummary, statusTokenView } from './presenters/program-view.ts';
import { NameParams, Refusal, responses } from './schemas/common.ts';
import { NoticeList, Plan, ProgramBody, ProgramCreated, ProgramList, ProgramResumed, ProgramStatus, Published, StatusTokenIssued } from './schemas/programs.ts';
import { CustomerRequestBody, InstanceUpgradeStatus } from './schemas/upgrade-status.ts';
import type { HttpApp } from './typed-app.ts';

const prefix = '/api/admin/v1';
const tags = ['programs'];
const security = [{ adminToken: [] }];

/** Operators' program routes; mounted inside the admin plugin (admin token). */
export async function programRoutes(app: HttpApp, services: Pick<Services, 'programService' | 'fleet' | 'upgradeStatus'>): Promise<void> {
  const s = services.programService;

  app.get(`${prefix}/programs`, { schema: { tags, security, summary: 'Every upgrade program', response: responses({ 200: ProgramList }) } }, async () => ({
    programs: (await s.list()).map(programSummary),
  }));

  app.post(
    `${prefix}/programs`,
    { schema: { tags, security, summary: 'Create a program (a draft until published)', body: ProgramBody, response: responses({ 201: ProgramCreated }) } },
    async (request, reply) => {
      const program = await s.create(request.body);
      return reply.code(201).send({ name: program.name, state: program.state, spec: program.spec });
    },
  );

  app.get(
    `${prefix}/programs/:name/plan`,
    { schema: { tags, security, summary: 'The waves the program would have if published now', params: NameParams, response: responses({ 200: Plan }) } },
    async (request) => {
      const { plan, program, perInstanceMs } = await s.plan(request.params.name);
      return { program: program.name, state: program.state, perInstanceMs, ...planView(plan) };
    },
  );

  app.post(
    `${prefix}/programs/:name/publish`,
    { schema: { tags, security, summary: 'Lock the schedule and queue the notices', params: NameParams, response: responses({ 200: Published }) } },
    async (request) => {
      const { program, plan, notices } = await s.publish(request.params.name);
      return { program: program.name, state: program.state, notices, ...planView(plan) };
    },
  );

  app.post(
    `${prefix}/programs/:name/resume`,
    { schema: { tags, security, summary: 'Let a halted program go on', params: NameParams, response: responses({ 200: ProgramResumed }) } },
    async (request) => {
      const program = await s.resume(request.params.name);
      return { program: program.name, state: program.state };
    },
  );

  app.get(
    `${prefix}/programs/:name/status`,
    { schema: { tags, security, summary: 'Progress per wave and per instance', params: NameParams, response: responses({ 200: ProgramStatus }) } },
    async (request) => s.status(request.params.name),
  );

  app.get(
    `${prefix}/programs/:name/notices`,
    { schema: { tags, security, summary: 'The program\u2019s notices', params: NameParams, response: responses({ 200: NoticeList }) } },
    async (request) => ({ notices: (await s.programNotices(request.params.name)).map(noticeView) }),
  );

  app.get(
    `${prefix}/customers/:name/notices`,
    { schema: { tags, security, summary: 'Every notice to a customer', params: NameParams, response: responses({ 200: NoticeList }) } },
    async (request) => ({ notices: (await s.customerNotices(request.params.name)).map(noticeView) }),
  );

  app.get(
    `${prefix}/instances/:name/upgrade`,
    {
      schema: { tags, security, summary: 'Where the instance\u2019s upgrade stands', params: NameParams, response: responses({ 200: InstanceUpgradeStatus }) },
    },
    async (request) => services.upgradeStatus.ofInstance(await services.fleet.instanceByName(request.params.name)),
  );

  app.post(
    `${prefix}/customers/:name/status-token`,
    {
      schema: {
        tags,
        security,
        summary: 'A new link to the customer\u2019s status page; the previous one stops working',
        params: NameParams,
        response: responses({ 201: StatusTokenIssued }),
      },
    },
    async (request, reply) => reply.code(201).send(statusTokenView(await s.issueStatusToken(request.params.name))),
  );

  // Recorded, then always refused with the reason (409): the upgrade is mandatory.
  for (const [path, kind] of [
    ['reschedule-request', 'reschedule'],
    ['opt-out', 'opt-out'],
  ] as const) {
    app.post(
      `${prefix}/instances/:name/${path}`,
      {
        schema: {
          tags,
          security,
          summary: `Record a customer\u2019s ${kind} request (refused with the reason)`,
          params: NameParams,
          body: CustomerRequestBody,
          response: responses({ 409: Refusal }),
        },
      },
      async (request) => s.request(await services.fleet.instanceByName(request.params.name), kind, request.body?.reason ?? ''),
    );
  }
}
