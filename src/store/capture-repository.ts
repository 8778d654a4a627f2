import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface CapturedMessage {
  id: number;
  mailFrom: string;
  recipients: string[];
  raw: Buffer;
  receivedAt: number;
}

/** Messages received by the built-in capture server (infrastructure `local`). */
export class CaptureRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(mailFrom: string, recipients: string[], raw: Buffer, now: number): Promise<number> {
    const row = await this.db
      .insertInto('captured_messages')
      .values({ mail_from: mailFrom, recipients: JSON.stringify(recipients), raw, received_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async list(limit: number, beforeId?: number): Promise<CapturedMessage[]> {
    let q = this.db.selectFrom('captured_messages').selectAll().orderBy('id', 'desc').limit(limit);
    if (beforeId !== undefined) q = q.where('id', '<', beforeId);
    const rows = await q.execute();
    return rows.map((r) => ({ id: r.id, mailFrom: r.mail_from, recipients: JSON.parse(r.recipients), raw: Buffer.from(r.raw), receivedAt: r.received_at }));
  }

  async clear(): Promise<void> {
    await this.db.deleteFrom('captured_messages').execute();
  }
}
