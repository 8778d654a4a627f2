import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

/**
 * Transport settings of an infrastructure: the port of direct-MX delivery (null: 25; test
 * rigs cannot bind 25) and its outbound TLS policy. Relay logins live in `relays`' JSON,
 * their passwords sealed.
 */
export async function up(db: Kysely<unknown>, _t: ColumnTypes): Promise<void> {
  await db.schema.alterTable('infrastructures').addColumn('mx_port', 'integer').execute();
  await db.schema
    .alterTable('infrastructures')
    .addColumn('tls_policy', 'text', (c) => c.notNull().defaultTo('opportunistic'))
    .execute();
}
