import type { Command } from 'commander';
import { callAndPrint, collect, table, type ApiClient } from './api-client.ts';
import type { Infrastructure, InfrastructureList } from '../http/schemas/fleet.ts';
import { fleetName } from './cli-names.ts';

export function addInfraCommands(program: Command, api: ApiClient): void {
  const infra = program.command('infra').description('manage infrastructures (sending paths)');

  infra
    .command('create <name>')
    .description('create an infrastructure that sends through egress relays')
    .requiredOption('--relay <host:port>', 'egress relay (repeatable)', collect)
    .option('--helo <name>', 'HELO name')
    .option('--verify <address>', 'verification (canary) address')
    .option('--bounce-domain <domain>', 'VERP return paths at this domain (its MX: the feedback listener)')
    .option('--json', 'print JSON')
    .action((name: string, opts: { relay: string[]; helo?: string; verify?: string; bounceDomain?: string; json?: boolean }) =>
      callAndPrint<Infrastructure>(
        api,
        {
          method: 'POST',
          path: ['infrastructures'],
          body: {
            name: fleetName('infrastructure', name),
            relays: opts.relay,
            heloName: opts.helo,
            verificationAddress: opts.verify,
            bounceDomain: opts.bounceDomain,
          },
        },
        opts,
        (created) => `created infrastructure ${created.name} via ${created.relays.join(', ')}`,
      ),
    );

  infra
    .command('list')
    .description('list infrastructures')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      callAndPrint<InfrastructureList>(api, { path: ['infrastructures'] }, opts, ({ infrastructures }) =>
        table([
          ['NAME', 'MODE', 'RELAYS', 'HELO', 'VERIFY', 'BOUNCE DOMAIN'],
          ...infrastructures.map((i) => [i.name, i.deliveryMode, i.relays.join(','), i.heloName, i.verificationAddress, i.bounceDomain ?? '-']),
        ]),
      ),
    );
}
