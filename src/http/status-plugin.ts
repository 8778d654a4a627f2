import type { Services } from '../app/services.ts';
import { statusPageView } from './presenters/status-view.ts';
import { responses } from './schemas/common.ts';
import { StatusPage, StatusTokenParams } from './schemas/status-page.ts';
import type { HttpApp } from './typed-app.ts';

/**
 * A customer's own view of its instances' upgrades, opened with the customer's status
 * token. Only that customer's instances; nothing of other customers or of operations.
 */
export async function statusPlugin(app: HttpApp, services: Pick<Services, 'upgradeStatus'>): Promise<void> {
  app.get(
    '/api/status/v1/:token',
    {
      schema: {
        tags: ['status'],
        summary: 'A customer\u2019s status page (the token is the credential)',
        params: StatusTokenParams,
        response: responses({ 200: StatusPage }),
      },
    },
    async (request) => statusPageView(await services.upgradeStatus.ofToken(request.params.token)),
  );
}
