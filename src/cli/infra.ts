import type { Command } from 'commander';
import { callAndPrint, collect, table, type ApiClient } from './api-client.ts';
import { fleetName } from './cli-names.ts';

interface Infrastructure {
  name: string;
  relays: (string | { host: string; port: number })[];
  deliveryMode: string;
  heloName: string;
  verificationAddress: string;
}

export function addInfraCommands(program: Command, api: ApiClient): void {
  const infra = program.command('infra').description('manage infrastructures (sending paths)');

  infra
    .command('create <name>')
    .description('create an infrastructure that sends through egress relays')
    .requiredOption('--relay <host:port>', 'egress relay (repeatable)', collect)
    .option('--helo <name>', 'HELO name')
    .option('--verify <address>', 'verification (canary) address')
    .option('--json', 'print JSON')
    .action((name: string, opts: { relay: string[]; helo?: string; verify?: string; json?: boolean }) =>
      callAndPrint<Infrastructure | { infrastructure: Infrastructure }>(
        api,
        {
          method: 'POST',
          path: ['infrastructures'],
          body: { name: fleetName('infrastructure', name), relays: opts.relay, heloName: opts.helo, verificationAddress: opts.verify },
        },
        opts,
        (body) => {
          const created = 'infrastructure' in body ? body.infrastructure : body;
          return `created infrastructure ${created.name} via ${relayList(created.relays, ', ')}`;
        },
      ),
    );

  infra
    .command('list')
    .description('list infrastructures')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      callAndPrint<{ infrastructures: Infrastructure[] }>(api, { path: ['infrastructures'] }, opts, ({ infrastructures }) =>
        table([
          ['NAME', 'MODE', 'RELAYS', 'HELO', 'VERIFY'],
          ...infrastructures.map((i) => [i.name, i.deliveryMode, relayList(i.relays, ','), i.heloName, i.verificationAddress]),
        ]),
      ),
    );
}

function relayList(relays: Infrastructure['relays'] | undefined, separator: string): string {
  return (relays ?? []).map((r) => (typeof r === 'string' ? r : `${r.host}:${r.port}`)).join(separator);
}
