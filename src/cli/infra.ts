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
    .option('--json', 'print JSON')
    .option('--unverified-from <policy>', 'mail from a domain its customer has not verified: unsigned (default) or refuse')
    .option('--spf-include <domain>', "the SPF include that covers this infrastructure's source addresses")
    .action((name: string, opts: { relay: string[]; helo?: string; verify?: string; json?: boolean; unverifiedFrom?: string; spfInclude?: string }) =>
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
            unverifiedFrom: opts.unverifiedFrom,
            spfInclude: opts.spfInclude,
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
          ['NAME', 'MODE', 'RELAYS', 'HELO', 'VERIFY'],
          ...infrastructures.map((i) => [i.name, i.deliveryMode, i.relays.join(','), i.heloName, i.verificationAddress]),
        ]),
      ),
    );
}
