import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

/**
 * Several nodes on one database: the nodes that registered and when each was last seen
 * (a node unseen past its time to live is dead, and its claims are handed back at once),
 * named leases with a fencing epoch (the leader's), and a lease on each notice so that
 * one node sends it.
 */
export async function up(db: Kysely<unknown>, t: ColumnTypes): Promise<void> {
  await db.schema
    .createTable('nodes')
    // `<host>:<pid>:<random>`: also the owner name of the node's delivery claims.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    // JSON: NodeRole[].
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('started_at', t.time, (c) => c.notNull())
    .addColumn('last_seen_at', t.time, (c) => c.notNull())
    // Set when the node stopped cleanly, or when another found it dead.
    .addColumn('stopped_at', t.time)
    .execute();
  await db.schema.createIndex('nodes_seen').on('nodes').column('last_seen_at').execute();
  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    // Raised at every change of holder: a write that carries an older epoch is refused.
    .addColumn('epoch', t.time, (c) => c.notNull())
    .addColumn('expires_at', t.time, (c) => c.notNull())
    .execute();
  await db.schema.alterTable('notices').addColumn('lease_owner', 'text').execute();
  await db.schema.alterTable('notices').addColumn('lease_until', t.time).execute();
}
