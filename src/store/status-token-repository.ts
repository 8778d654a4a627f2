import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** Each customer's one status-page token, stored only as its hash (see app/status-token.ts). */
export class StatusTokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Replaces the customer's token: the old one stops working. */
  async setStatusToken(customerId: number, tokenHash: string, now: number): Promise<void> {
    await this.db.deleteFrom('status_tokens').where('customer_id', '=', customerId).execute();
    await this.db.insertInto('status_tokens').values({ customer_id: customerId, token_hash: tokenHash, created_at: now }).execute();
  }

  async customerOfToken(tokenHash: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('status_tokens').select('customer_id').where('token_hash', '=', tokenHash).executeTakeFirst();
    return row?.customer_id;
  }
}
