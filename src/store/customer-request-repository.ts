import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { CustomerRequestKind } from '../core/upgrade/program.ts';

export interface CustomerRequestRecord {
  id: number;
  instance: string;
  kind: CustomerRequestKind;
  reason: string;
  answer: string;
  at: number;
}

/** Customers' requests to reschedule or opt out of an upgrade, with the answer they were given. */
export class CustomerRequestRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async recordRequest(instanceId: number, programId: number | null, kind: CustomerRequestKind, reason: string, answer: string, now: number): Promise<void> {
    await this.db.insertInto('reschedule_requests').values({ instance_id: instanceId, program_id: programId, kind, reason, answer, at: now }).execute();
  }

  async requests(programId: number): Promise<CustomerRequestRecord[]> {
    return this.db
      .selectFrom('reschedule_requests as r')
      .innerJoin('instances as i', 'i.id', 'r.instance_id')
      .select(['r.id', 'i.name as instance', 'r.kind', 'r.reason', 'r.answer', 'r.at'])
      .where('r.program_id', '=', programId)
      .orderBy('r.id')
      .execute();
  }
}
