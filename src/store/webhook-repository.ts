import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { fenced, unfenced, type Fence } from './fence.ts';

export interface Webhook {
  id: number;
  instanceId: number;
  url: string;
  secret: string;
  cursor: number;
  failures: number;
  nextAttemptAt: number;
  lastError: string | null;
}

export type CreateWebhookResult = { kind: 'created'; webhook: Webhook } | { kind: 'limit-reached'; limit: number };

export class WebhookRepository {
  /** `fence` guards the sender's writes (cursor, failures): one node posts each batch. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly fence: Fence = unfenced,
  ) {}

  create(instanceId: number, url: string, secret: string, startAfterEventId: number, now: number): Promise<Webhook> {
    return insertWebhook(this.db, instanceId, url, secret, startAfterEventId, now);
  }

  /** Creates the webhook unless the instance already has `limit`; concurrent creates count one after another. */
  async createLimited(limit: number, instanceId: number, url: string, secret: string, startAfterEventId: number, now: number): Promise<CreateWebhookResult> {
    return this.db.transaction().execute(async (trx) => {
      // A no-op write to the instance's row takes its row lock (PostgreSQL) or the write
      // lock (SQLite), so two creates cannot both see room for one more.
      await trx
        .updateTable('instances')
        .set((eb) => ({ created_at: eb.ref('created_at') }))
        .where('id', '=', instanceId)
        .execute();
      const row = await trx
        .selectFrom('webhooks')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('instance_id', '=', instanceId)
        .executeTakeFirstOrThrow();
      if (Number(row.n) >= limit) return { kind: 'limit-reached', limit };
      return { kind: 'created', webhook: await insertWebhook(trx, instanceId, url, secret, startAfterEventId, now) };
    });
  }

  async list(instanceId?: number): Promise<Webhook[]> {
    let q = this.db.selectFrom('webhooks').selectAll().orderBy('id');
    if (instanceId !== undefined) q = q.where('instance_id', '=', instanceId);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: r.id,
      instanceId: r.instance_id,
      url: r.url,
      secret: r.secret,
      cursor: r.cursor,
      failures: r.failures,
      nextAttemptAt: r.next_attempt_at,
      lastError: r.last_error,
    }));
  }

  async remove(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async advance(id: number, cursor: number): Promise<void> {
    await fenced(this.db, this.fence, (trx) =>
      trx.updateTable('webhooks').set({ cursor, failures: 0, next_attempt_at: 0, last_error: null }).where('id', '=', id).execute(),
    );
  }

  async failed(id: number, failures: number, nextAttemptAt: number, error: string): Promise<void> {
    await fenced(this.db, this.fence, (trx) =>
      trx
        .updateTable('webhooks')
        .set({ failures, next_attempt_at: nextAttemptAt, last_error: error.slice(0, 500) })
        .where('id', '=', id)
        .execute(),
    );
  }

  async lastEventId(): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.max('id').as('m'))
      .executeTakeFirst();
    return Number(row?.m ?? 0);
  }
}

async function insertWebhook(db: Kysely<Database>, instanceId: number, url: string, secret: string, startAfterEventId: number, now: number): Promise<Webhook> {
  const row = await db
    .insertInto('webhooks')
    .values({ instance_id: instanceId, url, secret, cursor: startAfterEventId, failures: 0, next_attempt_at: 0, created_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, instanceId, url, secret, cursor: startAfterEventId, failures: 0, nextAttemptAt: 0, lastError: null };
}
