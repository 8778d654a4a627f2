import type { Kysely, Transaction } from 'kysely';
import type { BounceCategory } from '../core/delivery/bounce-rules.ts';
import type { DeliveryState, FeedbackType } from '../core/spool/delivery-states.ts';
import type { Database } from './schema.ts';
import { eventRow, insertEvents } from './event-repository.ts';
import { addReputationCounts, hourOf, type ReputationIncrement } from './reputation-repository.ts';

/** A delivery a report is about, with the infrastructure it left through. */
export interface ReportedDelivery {
  id: number;
  messageId: string;
  instanceId: number;
  recipient: string;
  state: DeliveryState;
  /** From the delivered event; the instance's current one when that is gone. */
  infrastructureId: number;
}

export interface AsyncBounce {
  delivery: ReportedDelivery;
  at: number;
  reply: string;
  category: BounceCategory;
  /** Suppression reason for a hard bounce; null for a soft one. */
  suppress: string | null;
  detail: Record<string, unknown>;
}

export interface FeedbackRecord {
  type: FeedbackType;
  instanceId: number;
  infrastructureId: number;
  messageId: string | null;
  deliveryId: number | null;
  recipient: string;
  at: number;
  suppress: string;
  detail: Record<string, unknown>;
}

/** One write of the feedback listener or of one-click unsubscribe; `applied` is set once it is committed. */
export type FeedbackWrite = (
  | { kind: 'bounce'; bounce: AsyncBounce }
  | { kind: 'feedback'; feedback: FeedbackRecord }
  | { kind: 'report'; report: ReceivedReport }
) & {
  applied?: boolean;
};

export interface ReceivedReport {
  receivedAt: number;
  kind: string;
  deliveryId: number | null;
  instanceId: number | null;
  remoteAddress: string;
  detail: Record<string, unknown>;
}

/**
 * What the feedback listener and one-click unsubscribe write: a delivered delivery turned
 * bounced, complaints and unsubscribes, each with its event, suppression and reputation
 * count in one transaction; and a record of every report received.
 */
export class FeedbackRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async delivery(id: number): Promise<ReportedDelivery | undefined> {
    const row = await this.db
      .selectFrom('deliveries as d')
      .innerJoin('instances as i', 'i.id', 'd.instance_id')
      .select(['d.id', 'd.message_id', 'd.instance_id', 'd.recipient', 'd.state', 'i.infrastructure_id'])
      // The infrastructure it left through, from its delivered event (found by message: events are indexed so).
      .select((eb) =>
        eb
          .selectFrom('events as e')
          .select('e.detail')
          .whereRef('e.message_id', '=', 'd.message_id')
          .whereRef('e.delivery_id', '=', 'd.id')
          .where('e.type', '=', 'delivered')
          .orderBy('e.id', 'desc')
          .limit(1)
          .as('delivered'),
      )
      .where('d.id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    const delivered = row.delivered === null ? null : { detail: row.delivered };
    const via = delivered ? (JSON.parse(delivered.detail) as { infrastructureId?: unknown }).infrastructureId : undefined;
    return {
      id: row.id,
      messageId: row.message_id,
      instanceId: row.instance_id,
      recipient: row.recipient,
      state: row.state,
      infrastructureId: typeof via === 'number' ? via : row.infrastructure_id,
    };
  }

  /**
   * Writes a batch in one transaction (the feedback listener group-commits: many reports
   * share one fsync), in order. Each write's `applied` tells whether it changed anything:
   * a bounce only turns a delivery that is `delivered`, and a complaint or unsubscribe
   * counts once per delivery (a report sent twice counts once).
   */
  async write(batch: FeedbackWrite[]): Promise<void> {
    if (batch.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      // What the batch adds, written together after its changes: events, counts, reports.
      const added: Added = { events: [], counts: [], once: new Set() };
      const reports: ReceivedReport[] = [];
      for (const w of batch) {
        if (w.kind === 'bounce') w.applied = await bounceIn(trx, w.bounce, added);
        else if (w.kind === 'feedback') w.applied = await feedbackIn(trx, w.feedback, added);
        else {
          reports.push(w.report);
          w.applied = true;
        }
      }
      await insertEvents(trx, added.events);
      if (added.counts.length > 0) await addReputationCounts(trx, added.counts);
      for (let i = 0; i < reports.length; i += 500) {
        await trx
          .insertInto('feedback_reports')
          .values(
            reports.slice(i, i + 500).map((r) => ({
              received_at: r.receivedAt,
              kind: r.kind,
              delivery_id: r.deliveryId,
              instance_id: r.instanceId,
              remote_address: r.remoteAddress.slice(0, 100),
              detail: JSON.stringify(r.detail),
            })),
          )
          .execute();
      }
    });
  }
}

interface Added {
  events: ReturnType<typeof eventRow>[];
  counts: ReputationIncrement[];
  /** `<delivery>:<type>` of the complaints and unsubscribes in this batch, which count once. */
  once: Set<string>;
}

async function bounceIn(trx: Transaction<Database>, b: AsyncBounce, added: Added): Promise<boolean> {
  const updated = await trx
    .updateTable('deliveries')
    .set({ state: 'bounced', last_reply: b.reply.slice(0, 1000), last_category: b.category, updated_at: b.at })
    .where('id', '=', b.delivery.id)
    .where('state', '=', 'delivered')
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) return false;
  const d = b.delivery;
  added.events.push(
    eventRow(d.instanceId, d.messageId, d.id, 'bounced', d.recipient, b.at, {
      async: true,
      reply: b.reply.slice(0, 1000),
      category: b.category,
      infrastructureId: d.infrastructureId,
      ...b.detail,
    }),
  );
  if (b.suppress !== null) {
    await suppress(trx, d.instanceId, d.recipient, b.suppress, b.at);
    added.counts.push({ hour: hourOf(b.at), instanceId: d.instanceId, infrastructureId: d.infrastructureId, hardBounced: 1 });
  }
  return true;
}

async function feedbackIn(trx: Transaction<Database>, f: FeedbackRecord, added: Added): Promise<boolean> {
  if (f.deliveryId !== null) {
    const key = `${f.deliveryId}:${f.type}`;
    if (added.once.has(key)) return false;
    const seen = await trx
      .selectFrom('events')
      .select('id')
      .$if(f.messageId !== null, (q) => q.where('message_id', '=', f.messageId!))
      .where('delivery_id', '=', f.deliveryId)
      .where('type', '=', f.type)
      .executeTakeFirst();
    if (seen) return false;
    added.once.add(key);
  }
  added.events.push(eventRow(f.instanceId, f.messageId, f.deliveryId, f.type, f.recipient, f.at, f.detail));
  await suppress(trx, f.instanceId, f.recipient, f.suppress, f.at);
  added.counts.push({
    hour: hourOf(f.at),
    instanceId: f.instanceId,
    infrastructureId: f.infrastructureId,
    ...(f.type === 'complained' ? { complained: 1 } : { unsubscribed: 1 }),
  });
  return true;
}

async function suppress(trx: Transaction<Database>, instanceId: number, address: string, reason: string, at: number): Promise<void> {
  await trx
    .insertInto('suppressions')
    .values({ instance_id: instanceId, address: address.toLowerCase(), reason: reason.slice(0, 500), created_at: at })
    .onConflict((oc) => oc.doNothing())
    .execute();
}
