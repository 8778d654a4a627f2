import type { Services } from '../app/services.ts';
import { reputationReportView } from './presenters/reputation-view.ts';
import { NameParams, responses } from './schemas/common.ts';
import { Reputation, ReputationReport } from './schemas/feedback.ts';
import type { HttpApp } from './typed-app.ts';

const prefix = '/api/admin/v1';
const tags = ['reputation'];
const security = [{ adminToken: [] }];

/** Reputation per instance and infrastructure; mounted inside the admin plugin (admin token). */
export async function reputationRoutes(app: HttpApp, services: Pick<Services, 'reputation'>): Promise<void> {
  app.get(
    `${prefix}/reputation`,
    {
      schema: {
        tags,
        security,
        summary: 'Deliveries, hard-bounce, complaint and unsubscribe rates per instance and infrastructure over 24 h and 7 d',
        response: responses({ 200: ReputationReport }),
      },
    },
    async () => reputationReportView(await services.reputation.report()),
  );

  app.get(
    `${prefix}/instances/:name/reputation`,
    { schema: { tags, security, summary: 'One instance\u2019s rates over 24 h and 7 d', params: NameParams, response: responses({ 200: Reputation }) } },
    async (request) => services.reputation.instance(request.params.name),
  );
}
