import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

/**
 * Traffic-shaping limits that hold for the whole cluster: a token bucket per
 * (infrastructure, destination) rate rule that nodes take short-lived grants from, and
 * numbered connection slots per destination that a node holds while a session is open.
 */
export async function up(db: Kysely<unknown>, t: ColumnTypes): Promise<void> {
  await db.schema
    .createTable('rate_budgets')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('tokens', 'double precision', (c) => c.notNull())
    // The last grant made (negative: tokens given back): the statement that makes a grant
    // reads it back, since what it returns are the row's new values.
    .addColumn('granted', 'integer', (c) => c.notNull())
    .addColumn('updated_at', t.time, (c) => c.notNull())
    // When the bucket is full again: from then on the row says no more than a missing one.
    .addColumn('full_at', t.time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rate_budgets_full').on('rate_budgets').column('full_at').execute();
  await db.schema
    .createTable('connection_slots')
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('slot', 'integer', (c) => c.notNull())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('connection_slots_pk', ['key', 'slot'])
    .execute();
  await db.schema.createIndex('connection_slots_node').on('connection_slots').column('node_id').execute();
}
