import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

export async function up(db: Kysely<unknown>, t: ColumnTypes): Promise<void> {
  await db.schema
    .createTable('customers')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('contacts')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('customer_id', 'integer', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('timezone', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('infrastructures')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('relays', 'text', (c) => c.notNull())
    .addColumn('delivery_mode', 'text', (c) => c.notNull())
    .addColumn('source_addresses', 'text', (c) => c.notNull())
    .addColumn('helo_name', 'text', (c) => c.notNull())
    .addColumn('dkim', 'text', (c) => c.notNull())
    .addColumn('shaping', 'text', (c) => c.notNull())
    .addColumn('verification_address', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('instances')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('customer_id', 'integer', (c) => c.notNull().references('customers.id'))
    .addColumn('product_line', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('infrastructure_id', 'integer', (c) => c.notNull().references('infrastructures.id'))
    .addColumn('suspended', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('suspended_at', t.time)
    .addColumn('suspended_reason', 'text')
    .addColumn('allow_from', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('credentials')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('instance_id', 'integer', (c) => c.notNull().references('instances.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('lookup', 'text', (c) => c.notNull().unique())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('instance_id', 'integer', (c) => c.notNull())
    .addColumn('mail_from', 'text', (c) => c.notNull())
    .addColumn('raw', t.blob, (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('header_message_id', 'text')
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('deliveries')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'integer', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('due_at', t.time, (c) => c.notNull())
    .addColumn('expires_at', t.time, (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addColumn('updated_at', t.time, (c) => c.notNull())
    .addColumn('last_reply', 'text')
    .addColumn('last_category', 'text')
    .addColumn('lease_owner', 'text')
    .execute();
  await db.schema.createIndex('deliveries_due').on('deliveries').columns(['state', 'due_at']).execute();
  await db.schema.createIndex('deliveries_instance').on('deliveries').columns(['instance_id', 'state']).execute();
  await db.schema.createIndex('deliveries_message').on('deliveries').column('message_id').execute();

  await db.schema
    .createTable('events')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('instance_id', 'integer', (c) => c.notNull())
    .addColumn('message_id', 'text')
    .addColumn('delivery_id', 'integer')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text')
    .addColumn('at', t.time, (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_message').on('events').column('message_id').execute();
  await db.schema.createIndex('events_instance').on('events').columns(['instance_id', 'id']).execute();

  await db.schema
    .createTable('suppressions')
    .addColumn('instance_id', 'integer', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('suppressions_pk', ['instance_id', 'address'])
    .execute();

  await db.schema
    .createTable('webhooks')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('instance_id', 'integer', (c) => c.notNull().references('instances.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('cursor', t.time, (c) => c.notNull().defaultTo(0))
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', t.time, (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('instance_id', 'integer', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['instance_id', 'key'])
    .execute();

  await db.schema
    .createTable('captured_messages')
    .addColumn('id', t.id, (c) => t.idConstraints(c))
    .addColumn('mail_from', 'text', (c) => c.notNull())
    .addColumn('recipients', 'text', (c) => c.notNull())
    .addColumn('raw', t.blob, (c) => c.notNull())
    .addColumn('received_at', t.time, (c) => c.notNull())
    .execute();
}
