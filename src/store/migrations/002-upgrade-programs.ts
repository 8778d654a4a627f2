import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

export async function up(db: Kysely<unknown>, t: ColumnTypes): Promise<void> {
  // The sender of upgrade notices is an instance of mailshift's own; programs never move it.
  await db.schema
    .alterTable('instances')
    .addColumn('system', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('programs')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addColumn('published_at', t.time)
    .addColumn('halted_reason', 'text')
    .execute();

  await db.schema
    .createTable('program_waves')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('program_id', 'integer', (c) => c.notNull().references('programs.id').onDelete('cascade'))
    .addColumn('idx', 'integer', (c) => c.notNull())
    .addColumn('phase', 'text', (c) => c.notNull())
    .addColumn('retry', 'integer', (c) => c.notNull())
    .addColumn('start_at', t.time, (c) => c.notNull())
    .addColumn('end_at', t.time, (c) => c.notNull())
    .addColumn('estimate_ms', t.time, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('actual_start', t.time)
    .addColumn('actual_end', t.time)
    .addUniqueConstraint('program_waves_idx', ['program_id', 'idx'])
    .execute();

  await db.schema
    .createTable('switches')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('program_id', 'integer', (c) => c.notNull().references('programs.id').onDelete('cascade'))
    .addColumn('instance_id', 'integer', (c) => c.notNull())
    .addColumn('wave_idx', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', t.time)
    .addColumn('suspended_at', t.time)
    .addColumn('switched_at', t.time)
    .addColumn('paused_ms', t.time)
    .addColumn('released', 'integer')
    .addColumn('error', 'text')
    .addColumn('updated_at', t.time, (c) => c.notNull())
    .addUniqueConstraint('switches_instance', ['program_id', 'instance_id'])
    .execute();
  await db.schema.createIndex('switches_wave').on('switches').columns(['program_id', 'wave_idx', 'state']).execute();

  await db.schema
    .createTable('switch_log')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('switch_id', 'integer', (c) => c.notNull())
    .addColumn('from_state', 'text', (c) => c.notNull())
    .addColumn('to_state', 'text', (c) => c.notNull())
    .addColumn('at', t.time, (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('switch_log_switch').on('switch_log').column('switch_id').execute();

  await db.schema
    .createTable('notices')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('program_id', 'integer', (c) => c.notNull().references('programs.id').onDelete('cascade'))
    .addColumn('customer_id', 'integer', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('timezone', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('wave_idx', 'integer', (c) => c.notNull())
    .addColumn('due_at', t.time, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('subject', 'text')
    .addColumn('body', 'text')
    .addColumn('message_id', 'text')
    .addColumn('sent_at', t.time)
    .execute();
  await db.schema.createIndex('notices_due').on('notices').columns(['state', 'due_at']).execute();
  await db.schema.createIndex('notices_customer').on('notices').columns(['customer_id', 'id']).execute();

  await db.schema
    .createTable('reschedule_requests')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('instance_id', 'integer', (c) => c.notNull())
    .addColumn('program_id', 'integer')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('answer', 'text', (c) => c.notNull())
    .addColumn('at', t.time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('status_tokens')
    .addColumn('customer_id', 'integer', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute();
}
