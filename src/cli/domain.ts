import type { Command } from 'commander';
import { callAndPrint, table, type ApiClient } from './api-client.ts';
import type { DomainCheck, DomainList, SendingDomain, Verification } from '../http/schemas/senders.ts';
import { domainName, fleetName } from './cli-names.ts';

export function addDomainCommands(program: Command, api: ApiClient): void {
  const domain = program.command('domain').description("manage customers' sending domains");

  domain
    .command('add <domain>')
    .description('add a sending domain to a customer; it signs once verified')
    .requiredOption('--customer <name>', 'the customer that owns it')
    .option('--verified', 'assert ownership as the operator (no DNS token needed)')
    .option('--json', 'print JSON')
    .action((name: string, opts: { customer: string; verified?: boolean; json?: boolean }) =>
      callAndPrint<SendingDomain>(
        api,
        { method: 'POST', path: ['domains'], body: { domain: domainName(name), customer: fleetName('customer', opts.customer), verified: opts.verified } },
        opts,
        (d) =>
          d.verified
            ? `added ${d.domain} for ${d.customer} (verified)`
            : `added ${d.domain} for ${d.customer}; to verify, publish TXT ${d.verifyName} "${d.verifyValue}" and run mailshift domain verify ${d.domain}`,
      ),
    );

  domain
    .command('verify <domain>')
    .description("look for the domain's verification TXT record")
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      let verified = false;
      await callAndPrint<Verification>(api, { method: 'POST', path: ['domains', domainName(name), 'verify'] }, opts, (v) => {
        verified = v.verified;
        return `${v.domain}: ${v.verified ? 'verified' : 'not verified'} (${v.detail})`;
      });
      if (!verified && !opts.json) process.exitCode = 1;
    });

  domain
    .command('list')
    .description('list sending domains')
    .option('--customer <name>', "only this customer's")
    .option('--json', 'print JSON')
    .action((opts: { customer?: string; json?: boolean }) =>
      callAndPrint<DomainList>(
        api,
        { path: ['domains'], query: { customer: opts.customer === undefined ? undefined : fleetName('customer', opts.customer) } },
        opts,
        ({ domains }) => table([['DOMAIN', 'CUSTOMER', 'VERIFIED'], ...domains.map((d) => [d.domain, d.customer, d.verified ? 'yes' : 'no'])]),
      ),
    );

  domain
    .command('check <domain>')
    .description('check SPF, DKIM and DMARC of a domain over DNS')
    .option('--infra <name>', "against this infrastructure (default: where the customer's first instance sends)")
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { infra?: string; json?: boolean }) => {
      let ok = false;
      await callAndPrint<DomainCheck>(
        api,
        {
          path: ['domains', domainName(name), 'check'],
          query: { infrastructure: opts.infra === undefined ? undefined : fleetName('infrastructure', opts.infra) },
        },
        opts,
        (c) => {
          ok = c.ok;
          const mark = (v: boolean) => (v ? 'ok  ' : 'FAIL');
          return [
            `${c.domain} (${c.customer}${c.verified ? '' : ', not verified'}) against ${c.infrastructure ?? 'no infrastructure'}`,
            `${mark(c.spf.ok)} SPF    ${c.spf.detail}`,
            `${mark(c.dkim.ok)} DKIM   ${c.dkim.detail}`,
            ...c.dkim.records.map((r) => `       ${r.ok ? 'ok' : 'FAIL'} ${r.dnsName} (${r.algorithm}, ${r.state}): ${r.detail}`),
            `${mark(c.dmarc.ok)} DMARC  ${c.dmarc.detail}`,
          ].join('\n');
        },
      );
      if (!ok && !opts.json) process.exitCode = 1;
    });
}
