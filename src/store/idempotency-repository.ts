import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Stored answers of requests sent with an Idempotency-Key. They are written by the
 * spool's accepting commit, in the same transaction as the message (see
 * `SpoolRepository.commit`), and pruned by retention; this reads them.
 */
export class IdempotencyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(instanceId: number, key: string): Promise<{ requestHash: string; response: string } | undefined> {
    const row = await this.db
      .selectFrom('idempotency_keys')
      .select(['request_hash', 'response'])
      .where('instance_id', '=', instanceId)
      .where('key', '=', key)
      .executeTakeFirst();
    return row && { requestHash: row.request_hash, response: row.response };
  }
}
