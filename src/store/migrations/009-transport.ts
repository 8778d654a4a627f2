import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

/**
 * Transport settings of an infrastructure: the port of direct-MX delivery (null: 25; test
 * rigs cannot bind 25) and its outbound TLS policy, and whether it enforces MTA-STS. Relay logins live in `relays`' JSON,
 * their passwords sealed.
 */
export async function up(db: Kysely<unknown>, _t: ColumnTypes): Promise<void> {
  await db.schema.alterTable('infrastructures').addColumn('mx_port', 'integer').execute();
  await db.schema
    .alterTable('infrastructures')
    .addColumn('tls_policy', 'text', (c) => c.notNull().defaultTo('opportunistic'))
    .execute();
  await db.schema
    .alterTable('infrastructures')
    .addColumn('mta_sts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
