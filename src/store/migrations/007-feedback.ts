import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

/**
 * Feedback from mailbox providers: an infrastructure's bounce domain (VERP return paths),
 * one-click unsubscribe per instance and per message, every report the feedback listener
 * received (unparsed ones too), and reputation counts per hour, instance and
 * infrastructure, which the rates over 24 h and 7 d add up.
 */
export async function up(db: Kysely<unknown>, t: ColumnTypes): Promise<void> {
  await db.schema.alterTable('infrastructures').addColumn('bounce_domain', 'text').execute();
  await db.schema
    .alterTable('instances')
    .addColumn('list_unsubscribe', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('messages')
    .addColumn('list_unsubscribe', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable('feedback_reports')
    .addColumn('id', t.id, t.idConstraints)
    .addColumn('received_at', t.time, (c) => c.notNull())
    // dsn | bounce | auto-reply | arf | unsubscribe | unparsed
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('delivery_id', t.time)
    .addColumn('instance_id', 'integer')
    .addColumn('remote_address', 'text', (c) => c.notNull())
    // JSON: what was read (format, status, feedback type, reason when unparsed).
    .addColumn('detail', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('feedback_reports_received').on('feedback_reports').column('received_at').execute();
  await db.schema
    .createTable('reputation_counts')
    // Start of the hour, epoch ms.
    .addColumn('hour', t.time, (c) => c.notNull())
    .addColumn('instance_id', 'integer', (c) => c.notNull())
    .addColumn('infrastructure_id', 'integer', (c) => c.notNull())
    .addColumn('delivered', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('hard_bounced', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('complained', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unsubscribed', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('reputation_counts_pk', ['hour', 'instance_id', 'infrastructure_id'])
    .execute();
}
