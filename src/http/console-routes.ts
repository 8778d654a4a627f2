import type { Services } from '../app/services.ts';
import { consoleNoticeView, infrastructureOverviewView, pendingView, timelineView } from './presenters/console-view.ts';
import { NameParams, responses } from './schemas/common.ts';
import {
  ConsoleNotices,
  ConsoleNoticesQuery,
  InfrastructureOverview,
  OpenSwitches,
  Pending,
  PendingQuery,
  Timeline,
  TimelineQuery,
} from './schemas/console.ts';
import { QueueDomains, QueueDomainsQuery } from './schemas/queue.ts';
import { requireOperator, type OperatorDoor } from './session-plugin.ts';
import type { HttpApp } from './typed-app.ts';

const prefix = '/api/admin/v1';
const tags = ['console'];
const security = [{ adminToken: [] }];

/** Read-only views the console needs beyond the admin API; admin token or operator session. */
export async function consoleRoutes(app: HttpApp, services: OperatorDoor & Pick<Services, 'console'>): Promise<void> {
  const reads = services.console;
  app.addHook('onRequest', requireOperator(services));

  app.get(
    `${prefix}/delivery/timeline`,
    {
      schema: {
        tags,
        security,
        summary: 'Outcome events per type in equal buckets up to now',
        querystring: TimelineQuery,
        response: responses({ 200: Timeline }),
      },
    },
    async (request) => timelineView(await reads.timeline(request.query.hours, request.query.buckets)),
  );

  app.get(
    `${prefix}/queue/domains`,
    {
      schema: {
        tags,
        security,
        summary: 'Deliveries to be sent per destination domain, largest first',
        querystring: QueueDomainsQuery,
        response: responses({ 200: QueueDomains }),
      },
    },
    async (request) => ({ domains: await reads.queueByDomain(request.query.limit) }),
  );

  app.get(
    `${prefix}/instances/:name/pending`,
    {
      schema: {
        tags,
        security,
        summary: 'The instance\u2019s deliveries not yet sent, oldest first',
        params: NameParams,
        querystring: PendingQuery,
        response: responses({ 200: Pending }),
      },
    },
    async (request) => pendingView(await reads.pending(request.params.name, request.query.limit)),
  );

  app.get(
    `${prefix}/infrastructures/overview`,
    {
      schema: {
        tags,
        security,
        summary: 'Every infrastructure with its last pre-check and the last hour\u2019s outcomes',
        response: responses({ 200: InfrastructureOverview }),
      },
    },
    async () => infrastructureOverviewView(await reads.infrastructures()),
  );

  app.get(
    `${prefix}/switches/open`,
    { schema: { tags, security, summary: 'Unfinished switches of published, running or halted programs', response: responses({ 200: OpenSwitches }) } },
    async () => ({ switches: await reads.openSwitches() }),
  );

  app.get(
    `${prefix}/notices`,
    {
      schema: {
        tags,
        security,
        summary: 'The notice outbox, newest due first',
        querystring: ConsoleNoticesQuery,
        response: responses({ 200: ConsoleNotices }),
      },
    },
    async (request) => ({ notices: (await reads.notices(request.query.limit)).map(consoleNoticeView) }),
  );
}
