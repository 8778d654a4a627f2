import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

/**
 * Traffic-shaping limits that hold for the whole cluster: a token bucket per
 * (infrastructure, destination) rate rule that nodes lease short-lived shares from, and
 * numbered connection slots per destination that a node holds while a session is open.
 */
export async function up(db: Kysely<unknown>, t: ColumnTypes): Promise<void> {
  await db.schema
    .createTable('rate_budgets')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('tokens', 'double precision', (c) => c.notNull())
    .addColumn('updated_at', t.time, (c) => c.notNull())
    .execute();
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
