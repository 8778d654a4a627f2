import type { FastifyInstance } from 'fastify';
import type { Services } from '../app/services.ts';
import { hashStatusToken } from '../app/status-token.ts';
import { sendProblem } from './problem.ts';

/**
 * A customer's own view of its instances' upgrades, opened with the customer's status
 * token. Only that customer's instances; nothing of other customers or of operations.
 */
export async function statusPlugin(app: FastifyInstance, services: Services): Promise<void> {
  app.get('/api/status/v1/:token', async (request, reply) => {
    const { token } = request.params as { token: string };
    const customerId = await services.programs.customerOfToken(hashStatusToken(token));
    const customer = customerId === undefined ? undefined : (await services.fleetRepository.listCustomers()).find((c) => c.id === customerId);
    if (!customer) return sendProblem(reply, 'not-found', 'no status page for this link');
    const instances = (await services.fleetRepository.listInstances()).filter((i) => i.customerId === customer.id && !i.system);
    return {
      customer: customer.name,
      locale: customer.contacts[0]?.locale ?? 'en',
      timezone: customer.contacts[0]?.timezone ?? 'UTC',
      instances: await Promise.all(
        instances.map(async (i) => {
          // Program names and wave numbers are the operators' bookkeeping, not the customer's.
          const { program: _program, wave: _wave, retry: _retry, ...visible } = (await services.programService.instanceStatus(i, () => services.suspensions.heldCount(i.id))) as Record<string, unknown>;
          return visible;
        }),
      ),
    };
  });
}
