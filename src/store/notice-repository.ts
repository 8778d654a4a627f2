import type { Kysely, Selectable } from 'kysely';
import type { Database, NoticeTable } from './schema.ts';
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

/** The outbox of upgrade notices: queued with a due time, marked sent with what was sent. */
export class NoticeRepository {
  constructor(private readonly db: Kysely<Database>) {}

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
    for (let i = 0; i < rows.length; i += 500)
      await this.db
        .insertInto('notices')
        .values(rows.slice(i, i + 500))
        .execute();
  }

  async dueNotices(now: number, limit: number): Promise<NoticeRow[]> {
    return this.db
      .selectFrom('notices')
      .selectAll()
      .where('state', '=', 'pending')
      .where('due_at', '<=', now)
      .orderBy('due_at')
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  async noticeSent(id: number, subject: string, body: string, messageId: string | null, now: number): Promise<void> {
    await this.db.updateTable('notices').set({ state: 'sent', subject, body, message_id: messageId, sent_at: now }).where('id', '=', id).execute();
  }

  async notices(filter: { customerId?: number; programId?: number }, limit = 500): Promise<NoticeRow[]> {
    let q = this.db.selectFrom('notices').selectAll().orderBy('due_at').orderBy('id').limit(limit);
    if (filter.customerId !== undefined) q = q.where('customer_id', '=', filter.customerId);
    if (filter.programId !== undefined) q = q.where('program_id', '=', filter.programId);
    return q.execute();
  }
}
