import type { OutcomeType } from '../core/spool/delivery-states.ts';

/** Outcome events per type in one bucket of the delivery timeline. */
export interface TimelineBucket {
  start: number;
  counts: Record<OutcomeType, number>;
}

export interface DomainQueue {
  domain: string;
  scheduled: number;
  inflight: number;
}

export interface PendingDelivery {
  id: number;
  messageId: string;
  mailFrom: string;
  recipient: string;
  state: string;
  attempts: number;
  size: number;
  createdAt: number;
  dueAt: number;
  lastReply: string | null;
}

/** The latest pre-check of a target infrastructure. */
export interface PrecheckRecord {
  infrastructure: string;
  program: string;
  at: number;
  ok: boolean;
  detail: string | null;
}

export type OutcomeCounts = Record<'delivered' | 'deferred' | 'bounced', number>;

export interface OpenSwitch {
  instance: string;
  program: string;
  wave: number;
  state: string;
}

/** A notice of the outbox, as stored, with its customer's and program's names. */
export interface NoticeRecord {
  id: number;
  kind: string;
  email: string;
  locale: string;
  timezone: string;
  wave_idx: number;
  due_at: number;
  state: string;
  subject: string | null;
  body: string | null;
  sent_at: number | null;
  customer: string;
  program: string;
}

/**
 * The console's read port: aggregates across the spool, the events and the programs that
 * no repository of one concept answers. Read-only; store/console-queries.ts implements it.
 */
export interface ConsoleReads {
  timeline(since: number, until: number, bucketMs: number): Promise<TimelineBucket[]>;
  queueByDomain(limit: number): Promise<DomainQueue[]>;
  pendingDeliveries(instanceId: number, limit: number): Promise<PendingDelivery[]>;
  lastPrechecks(): Promise<PrecheckRecord[]>;
  /** Outcomes since `since` per infrastructure id; `capped` when more events happened than were read. */
  outcomesByInfrastructure(since: number): Promise<{ counts: Map<number, OutcomeCounts>; capped: boolean }>;
  openSwitches(): Promise<OpenSwitch[]>;
  notices(limit: number): Promise<NoticeRecord[]>;
}
