import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { callAndPrint, CliError, table, type ApiClient } from './api-client.ts';
import type { DkimKey, DkimKeyList } from '../http/schemas/senders.ts';
import { domainName, fleetName } from './cli-names.ts';

/** What `dkim add` and `dkim import` print with --json: the record to publish. */
const record = (k: DkimKey) => ({ domain: k.domain, selector: k.selector, algorithm: k.algorithm, dnsName: k.dnsName, dnsValue: k.dnsValue });
const publish = (k: DkimKey) => `${k.domain}: publish TXT ${k.dnsName} "${k.dnsValue}"`;

export function addDkimCommands(program: Command, api: ApiClient): void {
  const dkim = program.command('dkim').description("manage the DKIM keys of customers' sending domains");

  dkim
    .command('add <domain>')
    .description('make a key for a domain of the customer (the domain is added, unverified, when new)')
    .requiredOption('--customer <name>', 'the customer that owns the domain')
    .option('--selector <name>', 'default <algorithm>-<yyyymmdd>')
    .option('--algorithm <rsa|ed25519>', 'key type', 'rsa')
    .option('--bits <n>', 'RSA modulus length', '2048')
    .option('--json', 'print JSON')
    .action((name: string, opts: { customer: string; selector?: string; algorithm: string; bits: string; json?: boolean }) =>
      callAndPrint<DkimKey>(
        api,
        {
          method: 'POST',
          path: ['dkim'],
          body: {
            domain: domainName(name),
            customer: fleetName('customer', opts.customer),
            selector: opts.selector,
            algorithm: opts.algorithm,
            bits: bits(opts.bits),
          },
        },
        opts,
        publish,
        record,
      ),
    );

  dkim
    .command('import <domain>')
    .description('import an existing private key (PEM file) for a domain of the customer')
    .requiredOption('--customer <name>', 'the customer that owns the domain')
    .requiredOption('--selector <name>', 'the selector its DNS record is published under')
    .requiredOption('--key-file <path>', 'PEM private key (RSA or Ed25519)')
    .option('--json', 'print JSON')
    .action((name: string, opts: { customer: string; selector: string; keyFile: string; json?: boolean }) => {
      let privateKey: string;
      try {
        privateKey = readFileSync(opts.keyFile, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${opts.keyFile}: ${(err as Error).message}`);
      }
      return callAndPrint<DkimKey>(
        api,
        {
          method: 'POST',
          path: ['dkim', 'import'],
          body: { domain: domainName(name), customer: fleetName('customer', opts.customer), selector: opts.selector, privateKey },
        },
        opts,
        publish,
        record,
      );
    });

  dkim
    .command('list')
    .description('list keys with the DNS record each needs')
    .option('--domain <domain>', "only this domain's")
    .option('--json', 'print JSON')
    .action((opts: { domain?: string; json?: boolean }) =>
      callAndPrint<DkimKeyList>(api, { path: ['dkim'], query: { domain: opts.domain === undefined ? undefined : domainName(opts.domain) } }, opts, ({ keys }) =>
        table([
          ['DOMAIN', 'SELECTOR', 'ALGORITHM', 'STATE', 'RETIRES', 'DNS NAME'],
          ...keys.map((k) => [k.domain, k.selector, k.algorithm, k.state, k.retireAt, k.dnsName]),
        ]),
      ),
    );

  dkim
    .command('rotate <domain>')
    .description('new keys sign now; the old ones stay valid (keep their records) for the grace period')
    .option('--algorithm <rsa|ed25519>', 'rotate only the keys of this algorithm')
    .option('--grace <duration>', 'e.g. 7d (default MAILSHIFT_DKIM_GRACE)')
    .option('--json', 'print JSON')
    .action((name: string, opts: { algorithm?: string; grace?: string; json?: boolean }) =>
      callAndPrint<DkimKeyList>(
        api,
        { method: 'POST', path: ['domains', domainName(name), 'dkim', 'rotate'], body: { algorithm: opts.algorithm, grace: opts.grace } },
        opts,
        ({ keys }) => keys.map(publish).join('\n'),
      ),
    );
}

function bits(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n)) throw new CliError(`--bits must be a whole number, got ${JSON.stringify(text)}`);
  return n;
}
