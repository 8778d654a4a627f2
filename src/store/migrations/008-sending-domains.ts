import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

/**
 * Sending domains owned by customers, with their DKIM keys (private keys sealed with the
 * secret key), and each infrastructure's policy for mail from a domain not verified.
 */
export async function up(db: Kysely<unknown>, t: ColumnTypes): Promise<void> {
  await db.schema
    .createTable('sending_domains')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('customer_id', 'integer', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('domain', 'text', (c) => c.notNull().unique())
    .addColumn('verified', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('verify_token', 'text', (c) => c.notNull())
    .addColumn('verified_at', t.time)
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('domain_keys')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('domain_id', 'integer', (c) => c.notNull().references('sending_domains.id').onDelete('cascade'))
    .addColumn('selector', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('sealed_private_key', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addColumn('retire_at', t.time)
    .addUniqueConstraint('domain_keys_selector', ['domain_id', 'selector'])
    .execute();
  await db.schema
    .alterTable('infrastructures')
    .addColumn('unverified_from', 'text', (c) => c.notNull().defaultTo('unsigned'))
    .execute();
  await db.schema.alterTable('infrastructures').addColumn('spf_include', 'text').execute();
}
