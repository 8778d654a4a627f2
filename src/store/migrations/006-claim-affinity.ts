import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

/**
 * The node that accepted a delivery's message: for a moment after acceptance only that
 * node claims it, since it holds the body in memory and another would read it back.
 */
export async function up(db: Kysely<unknown>, _t: ColumnTypes): Promise<void> {
  await db.schema.alterTable('deliveries').addColumn('accepted_by', 'text').execute();
}
