import type { Kysely } from 'kysely';
import type { ColumnTypes } from './column-types.ts';

/**
 * Operators' console sessions. The cookie stays an HMAC (so forged ones never reach the
 * database), but it is valid only while its row exists unrevoked: logging out on one node
 * ends the session on every node.
 */
export async function up(db: Kysely<unknown>, t: ColumnTypes): Promise<void> {
  await db.schema
    .createTable('sessions')
    // SHA-256 of the cookie's nonce: reading the table does not give a usable cookie.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addColumn('expires_at', t.time, (c) => c.notNull())
    .addColumn('revoked_at', t.time)
    .execute();
  await db.schema.createIndex('sessions_expiry').on('sessions').column('expires_at').execute();
}
