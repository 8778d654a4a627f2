import type { Kysely, Selectable, Transaction } from 'kysely';
import type { EventType } from '../core/spool/delivery-states.ts';
import type { Database, EventTable } from './schema.ts';

export interface EventRecord {
  id: number;
  instanceId: number;
  messageId: string | null;
  deliveryId: number | null;
  type: EventType;
  recipient: string | null;
  at: number;
  detail: Record<string, unknown>;
}

/** An event that is not about one delivery (an upgrade notice), for the instance's webhooks. */
export interface NewEvent {
  instanceId: number;
  type: EventType;
  at: number;
  detail: Record<string, unknown>;
}

const chunk = 500;

/**
 * The event log every webhook and timeline reads. Events of accepted messages and of
 * attempts are written by the spool, inside the transaction that changes the deliveries
 * (see `eventRow`, `insertEvents`), so an outcome is never stored without its event.
 */
export class EventRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Events that are not about one delivery (upgrade notices), for the instances' webhooks. */
  async addEvents(rows: NewEvent[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction().execute((trx) =>
      insertEvents(
        trx,
        rows.map((r) => eventRow(r.instanceId, null, null, r.type, null, r.at, r.detail)),
      ),
    );
  }

  async eventsForMessage(messageId: string): Promise<EventRecord[]> {
    const rows = await this.db.selectFrom('events').selectAll().where('message_id', '=', messageId).orderBy('id').execute();
    return rows.map(toEvent);
  }

  async eventsAfter(instanceId: number, afterId: number, limit: number): Promise<EventRecord[]> {
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toEvent);
  }

  async recentEvents(instanceId: number, limit: number): Promise<EventRecord[]> {
    const rows = await this.db.selectFrom('events').selectAll().where('instance_id', '=', instanceId).orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toEvent);
  }
}

/** One row of `events`, as the spool's transactions insert it. */
export function eventRow(
  instanceId: number,
  messageId: string | null,
  deliveryId: number | null,
  type: EventType,
  recipient: string | null,
  at: number,
  detail: Record<string, unknown>,
) {
  return { instance_id: instanceId, message_id: messageId, delivery_id: deliveryId, type, recipient, at, detail: JSON.stringify(detail) };
}

/** Inserts events within the caller's transaction, in chunks the drivers accept. */
export async function insertEvents(trx: Transaction<Database>, rows: ReturnType<typeof eventRow>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += chunk) {
    await trx
      .insertInto('events')
      .values(rows.slice(i, i + chunk))
      .execute();
  }
}

function toEvent(r: Selectable<EventTable>): EventRecord {
  return {
    id: r.id,
    instanceId: r.instance_id,
    messageId: r.message_id,
    deliveryId: r.delivery_id,
    type: r.type,
    recipient: r.recipient,
    at: r.at,
    detail: JSON.parse(r.detail),
  };
}
