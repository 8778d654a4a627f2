import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError, callAndPrint, collect, table, type ApiClient } from './api-client.ts';
import type { Infrastructure, InfrastructureList } from '../http/schemas/fleet.ts';
import { tlsPolicies } from '../core/fleet/fleet.ts';
import { fleetName } from './cli-names.ts';

interface CreateOptions {
  relay?: string[];
  mx?: boolean;
  mxPort?: string;
  tls?: string;
  relayUser?: string;
  relayPasswordFile?: string;
  relaySecure?: boolean;
  mtaSts?: boolean;
  helo?: string;
  verify?: string;
  unverifiedFrom?: string;
  spfInclude?: string;
  bounceDomain?: string;
  json?: boolean;
}

export function addInfraCommands(program: Command, api: ApiClient): void {
  const infra = program.command('infra').description('manage infrastructures (sending paths)');

  infra
    .command('create <name>')
    .description('create an infrastructure that sends through egress relays (--relay) or straight to each domain’s MX hosts (--mx)')
    .option('--relay <host:port>', 'egress relay (repeatable)', collect)
    .option('--mx', 'deliver straight to the recipient domains’ MX hosts')
    .option('--mx-port <port>', 'port of the MX hosts (default 25; other ports for test rigs)')
    .option('--tls <policy>', `outbound TLS: ${tlsPolicies.join(' | ')} (default opportunistic)`)
    .option('--mta-sts', 'with --mx: fetch and enforce recipient domains’ MTA-STS policies')
    .option('--relay-user <user>', 'log in to the relays as this user (AUTH, over TLS only)')
    .option('--relay-password-file <path>', 'file holding the relays’ password (kept sealed; never shown again)')
    .option('--relay-secure', 'implicit TLS to the relays from the first byte (port 465)')
    .option('--helo <name>', 'HELO name')
    .option('--verify <address>', 'verification (canary) address')
    .option('--unverified-from <policy>', 'mail from a domain its customer has not verified: unsigned (default) or refuse')
    .option('--spf-include <domain>', "the SPF include that covers this infrastructure's source addresses")
    .option('--bounce-domain <domain>', 'VERP return paths at this domain (its MX: the feedback listener)')
    .option('--json', 'print JSON')
    .action((name: string, opts: CreateOptions) => {
      const body = createBody(name, opts);
      return callAndPrint<Infrastructure>(api, { method: 'POST', path: ['infrastructures'], body }, opts, (created) =>
        created.deliveryMode === 'mx'
          ? `created infrastructure ${created.name} delivering to MX hosts${created.mxPort ? ` on port ${created.mxPort}` : ''} (TLS ${created.tls})`
          : `created infrastructure ${created.name} via ${created.relays.join(', ')} (TLS ${created.tls})`,
      );
    });

  infra
    .command('list')
    .description('list infrastructures')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      callAndPrint<InfrastructureList>(api, { path: ['infrastructures'] }, opts, ({ infrastructures }) =>
        table([
          ['NAME', 'MODE', 'RELAYS', 'HELO', 'VERIFY', 'TLS', 'BOUNCE DOMAIN'],
          ...infrastructures.map((i) => [i.name, i.deliveryMode, i.relays.join(','), i.heloName, i.verificationAddress, i.tls, i.bounceDomain ?? '-']),
        ]),
      ),
    );
}

function createBody(name: string, opts: CreateOptions): Record<string, unknown> {
  const relays = opts.relay ?? [];
  if (opts.mx && relays.length > 0) throw new CliError('give either --mx or --relay, not both');
  if (!opts.mx && relays.length === 0) throw new CliError('give --relay HOST:PORT (repeatable) or --mx');
  if ((opts.mxPort !== undefined || opts.mtaSts) && !opts.mx) throw new CliError('--mx-port and --mta-sts go with --mx');
  const mxPort = opts.mxPort === undefined ? undefined : Number(opts.mxPort);
  if (mxPort !== undefined && (!Number.isInteger(mxPort) || mxPort < 1 || mxPort > 65535))
    throw new CliError(`--mx-port must be a port number, got ${opts.mxPort}`);
  if ((opts.relayUser === undefined) !== (opts.relayPasswordFile === undefined)) throw new CliError('--relay-user and --relay-password-file go together');
  const password = opts.relayPasswordFile === undefined ? undefined : readPassword(opts.relayPasswordFile);
  const login = opts.relayUser !== undefined || opts.relaySecure;
  return {
    name: fleetName('infrastructure', name),
    deliveryMode: opts.mx ? 'mx' : 'relay',
    relays: login ? relays.map((address) => ({ address, secure: opts.relaySecure === true, user: opts.relayUser, password })) : relays,
    heloName: opts.helo,
    verificationAddress: opts.verify,
    mxPort,
    tls: opts.tls,
    mtaSts: opts.mtaSts,
    unverifiedFrom: opts.unverifiedFrom,
    spfInclude: opts.spfInclude,
    bounceDomain: opts.bounceDomain,
  };
}

function readPassword(path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
  }
}
