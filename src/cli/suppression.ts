import type { Command } from 'commander';
import { callAndPrint, table, type ApiClient } from './api-client.ts';
import type { SuppressionList } from '../http/schemas/suppressions.ts';
import { fleetName, mailAddress, storedAddress } from './cli-names.ts';

export function addSuppressionCommands(program: Command, api: ApiClient): void {
  const suppression = program.command('suppression').description("manage an instance's suppression list");

  suppression
    .command('list <instance>')
    .description('list suppressed addresses')
    .option('--json', 'print JSON')
    .action((instance: string, opts: { json?: boolean }) =>
      callAndPrint<SuppressionList>(api, { path: ['instances', fleetName('instance', instance), 'suppressions'] }, opts, ({ suppressions }) =>
        table([['ADDRESS', 'REASON', 'SINCE'], ...suppressions.map((s) => [s.address, s.reason, s.createdAt])]),
      ),
    );

  suppression
    .command('add <instance> <address>')
    .description('suppress an address: mail to it is not sent')
    .option('--reason <text>', 'why it is suppressed')
    .option('--json', 'print JSON')
    .action((instance: string, address: string, opts: { reason?: string; json?: boolean }) =>
      callAndPrint(
        api,
        { method: 'POST', path: ['instances', fleetName('instance', instance), 'suppressions'], body: { address: mailAddress(address), reason: opts.reason } },
        opts,
        () => `suppressed ${address} for ${instance}`,
      ),
    );

  suppression
    .command('remove <instance> <address>')
    .description('remove an address from the suppression list')
    .option('--json', 'print JSON')
    .action((instance: string, address: string, opts: { json?: boolean }) =>
      callAndPrint(
        api,
        { method: 'DELETE', path: ['instances', fleetName('instance', instance), 'suppressions', storedAddress(address)] },
        opts,
        () => `removed ${address} from ${instance}'s suppression list`,
        (body) => body ?? { removed: address },
      ),
    );
}
