import type { Command } from 'commander';
import { callAndPrint, collect, table, type ApiClient } from './api-client.ts';
import type { InstanceCreated, InstanceList, Resumed, Suspended } from '../http/schemas/fleet.ts';
import { fleetName } from './cli-names.ts';
import { queueRow, queueStates } from './queue.ts';

interface CreateOptions {
  customer: string;
  product: string;
  env: string;
  infra: string;
  allowFrom: string[];
  listUnsubscribe?: boolean;
  json?: boolean;
}

export function addInstanceCommands(program: Command, api: ApiClient): void {
  const instance = program.command('instance').description('manage instances (campaign platform tenants)');

  instance
    .command('create <name>')
    .description('create an instance and print its credentials (shown once)')
    .requiredOption('--customer <customer>', 'owning customer')
    .requiredOption('--product <productLine>', 'classic-managed | managed-cloud | standard-on-demand')
    .requiredOption('--env <environment>', 'development | staging | production')
    .requiredOption('--infra <infrastructure>', 'infrastructure to send through')
    .option('--allow-from <cidr>', 'network allowed to send (repeatable)', collect, [])
    .option('--list-unsubscribe', 'every delivery carries one-click List-Unsubscribe (RFC 8058)')
    .option('--json', 'print the credentials as JSON')
    .action((name: string, opts: CreateOptions) =>
      callAndPrint<InstanceCreated>(
        api,
        {
          method: 'POST',
          path: ['instances'],
          body: {
            name: fleetName('instance', name),
            customer: fleetName('customer', opts.customer),
            productLine: opts.product,
            environment: opts.env,
            infrastructure: fleetName('infrastructure', opts.infra),
            allowFrom: opts.allowFrom,
            ...(opts.listUnsubscribe ? { listUnsubscribe: true } : {}),
          },
        },
        opts,
        ({ credentials: c }) =>
          [
            `created instance ${name}`,
            `  SMTP username: ${c.smtp.username}`,
            `  SMTP password: ${c.smtp.password}`,
            `  API key:       ${c.apiKey}`,
            'These credentials are shown once; store them now.',
          ].join('\n'),
        ({ credentials: c }) => ({ smtp: c.smtp, apiKey: c.apiKey, instance: name }),
      ),
    );

  instance
    .command('list')
    .description('list instances with their queue counts')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      callAndPrint<InstanceList>(api, { path: ['instances'] }, opts, ({ instances }) =>
        table([
          ['NAME', 'CUSTOMER', 'PRODUCT', 'ENV', 'INFRA', 'STATE', ...queueStates.map((s) => s.toUpperCase())],
          ...instances.map((i) => [
            i.name,
            i.customer,
            i.productLine,
            i.environment,
            i.infrastructure,
            i.suspended ? 'suspended' : 'active',
            ...queueRow(i.queue),
          ]),
        ]),
      ),
    );

  instance
    .command('suspend <name>')
    .description("hold the instance's sending (injection continues, nothing expires)")
    .option('--reason <text>', 'why it is suspended')
    .option('--json', 'print JSON')
    .action((name: string, opts: { reason?: string; json?: boolean }) =>
      callAndPrint<Suspended>(
        api,
        { method: 'POST', path: ['instances', fleetName('instance', name), 'suspend'], body: { reason: opts.reason } },
        opts,
        () => `suspended instance ${name}${opts.reason ? ` (${opts.reason})` : ''}`,
      ),
    );

  instance
    .command('resume <name>')
    .description("release the instance's held sending")
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) =>
      callAndPrint<Resumed>(
        api,
        { method: 'POST', path: ['instances', fleetName('instance', name), 'resume'], body: {} },
        opts,
        (r) => `resumed instance ${name}: held ${(r.heldMs / 1000).toFixed(1)} s, released ${r.released} deliveries`,
      ),
    );
}
