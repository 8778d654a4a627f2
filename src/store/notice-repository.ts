import type { Kysely, Selectable } from 'kysely';
import type { Database, NoticeTable } from './schema.ts';
import { fenced, unfenced, type Fence } from './fence.ts';
import type { NoticeKind } from '../core/upgrade/notice-kinds.ts';

export interface NewNotice {
  programId: number;
  customerId: number;
  email: string;
  locale: string;
  timezone: string;
  kind: NoticeKind;
  waveIdx: number;
  dueAt: number;
  detail: Record<string, unknown>;
}

/** A stored notice, as its row (the templates' detail is JSON text). */
export type NoticeRow = Selectable<NoticeTable>;

/**
 * The outbox of upgrade notices: queued with a due time, claimed with a lease by the node
 * that sends it, marked sent with what was sent.
 */
export class NoticeRepository {
  /** `fence` guards the leader's writes: queuing wave notices, claiming and marking sent. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly fence: Fence = unfenced,
  ) {}

  async addNotices(notices: NewNotice[]): Promise<void> {
    const rows = notices.map((n) => ({
      program_id: n.programId,
      customer_id: n.customerId,
      email: n.email,
      locale: n.locale,
      timezone: n.timezone,
      kind: n.kind,
      wave_idx: n.waveIdx,
      due_at: n.dueAt,
      state: 'pending' as const,
      detail: JSON.stringify(n.detail),
    }));
    if (rows.length === 0) return;
    await fenced(this.db, this.fence, async (trx) => {
      for (let i = 0; i < rows.length; i += 500)
        await trx
          .insertInto('notices')
          .values(rows.slice(i, i + 500))
          .execute();
    });
  }

  async dueNotices(now: number, limit: number): Promise<NoticeRow[]> {
    return this.db
      .selectFrom('notices')
      .selectAll()
      .where('state', '=', 'pending')
      .where('due_at', '<=', now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .orderBy('due_at')
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /**
   * Takes a pending notice for `owner` until `now + leaseMs`; false when it was sent or
   * another holds it. A sender that dies after sending and before `noticeSent` leaves its
   * lease to expire, and that one notice may then go out again; no other can.
   */
  async claimNotice(id: number, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const r = await fenced(this.db, this.fence, (trx) =>
      trx
        .updateTable('notices')
        .set({ lease_owner: owner, lease_until: now + leaseMs })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now), eb('lease_owner', '=', owner)]))
        .executeTakeFirst(),
    );
    return Number(r.numUpdatedRows) === 1;
  }

  async noticeSent(id: number, subject: string, body: string, messageId: string | null, now: number): Promise<void> {
    await fenced(this.db, this.fence, (trx) =>
      trx.updateTable('notices').set({ state: 'sent', subject, body, message_id: messageId, sent_at: now, lease_until: null }).where('id', '=', id).execute(),
    );
  }

  async notices(filter: { customerId?: number; programId?: number }, limit = 500): Promise<NoticeRow[]> {
    let q = this.db.selectFrom('notices').selectAll().orderBy('due_at').orderBy('id').limit(limit);
    if (filter.customerId !== undefined) q = q.where('customer_id', '=', filter.customerId);
    if (filter.programId !== undefined) q = q.where('program_id', '=', filter.programId);
    return q.execute();
  }
}
