import type { Command } from 'commander';
import { callAndPrint, collect, table, type ApiClient } from './api-client.ts';
import type { Customer, CustomerList } from '../http/schemas/fleet.ts';
import { fleetName } from './cli-names.ts';

export function addCustomerCommands(program: Command, api: ApiClient): void {
  const customer = program.command('customer').description('manage customers and their contacts');

  customer
    .command('create <name>')
    .description('create a customer')
    .requiredOption('--contact <email>', 'contact address (repeatable)', collect)
    .option('--locale <locale>', 'locale of every contact', 'en')
    .option('--timezone <zone>', 'IANA time zone of every contact', 'UTC')
    .option('--json', 'print JSON')
    .action((name: string, opts: { contact: string[]; locale: string; timezone: string; json?: boolean }) =>
      callAndPrint<Customer>(
        api,
        {
          method: 'POST',
          path: ['customers'],
          body: { name: fleetName('customer', name), contacts: opts.contact.map((email) => ({ email, locale: opts.locale, timezone: opts.timezone })) },
        },
        opts,
        (created) => `created customer ${created.name} with ${created.contacts.length} contact(s)`,
      ),
    );

  customer
    .command('list')
    .description('list customers')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      callAndPrint<CustomerList>(api, { path: ['customers'] }, opts, ({ customers }) =>
        table([['NAME', 'CONTACTS'], ...customers.map((c) => [c.name, c.contacts.map((k) => `${k.email} (${k.locale}, ${k.timezone})`).join('; ')])]),
      ),
    );
}
