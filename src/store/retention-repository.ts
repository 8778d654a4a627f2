import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { fenced, unfenced, type Fence } from './fence.ts';

/** What retention removes: finished mail, old events and old idempotency keys. */
export class RetentionRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly fence: Fence = unfenced,
  ) {}

  /**
   * Removes messages older than `messagesBefore` whose every delivery is finished (with
   * those deliveries), events, feedback reports and reputation counts older than `eventsBefore`, and idempotency keys older than
   * `keysBefore`, in one transaction. Mail still queued is never touched.
   */
  async prune(messagesBefore: number, eventsBefore: number, keysBefore: number, limit = 1000): Promise<{ messages: number; events: number; keys: number }> {
    return fenced(this.db, this.fence, async (trx) => {
      const old = await trx
        .selectFrom('messages as m')
        .select('m.id')
        .where('m.created_at', '<', messagesBefore)
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('deliveries as d').select('d.id').whereRef('d.message_id', '=', 'm.id').where('d.state', 'in', ['scheduled', 'inflight']))),
        )
        .limit(limit)
        .execute();
      const ids = old.map((r) => r.id);
      if (ids.length > 0) {
        await trx.deleteFrom('deliveries').where('message_id', 'in', ids).execute();
        await trx.deleteFrom('messages').where('id', 'in', ids).execute();
      }
      const events = await trx.deleteFrom('events').where('at', '<', eventsBefore).executeTakeFirst();
      const keys = await trx.deleteFrom('idempotency_keys').where('created_at', '<', keysBefore).executeTakeFirst();
      // The feedback listener's records and reputation counts are kept as long as events.
      await trx.deleteFrom('feedback_reports').where('received_at', '<', eventsBefore).execute();
      await trx.deleteFrom('reputation_counts').where('hour', '<', eventsBefore).execute();
      return { messages: ids.length, events: Number(events.numDeletedRows), keys: Number(keys.numDeletedRows) };
    });
  }
}
