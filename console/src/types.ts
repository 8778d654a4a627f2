/** Shapes of the admin API's answers, as far as the console reads them. */
export type QueueCounts = Record<'scheduled' | 'inflight' | 'delivered' | 'bounced' | 'expired' | 'suppressed', number>;

export interface InstanceRow {
  name: string;
  customer: string;
  productLine: string;
  environment: string;
  infrastructure: string;
  suspended: boolean;
  suspendedAt: string | null;
  suspendedReason: string | null;
  createdAt: string;
  queue?: QueueCounts;
}

export interface EventRow {
  id: number;
  type: string;
  recipient: string | null;
  messageId: string | null;
  at: string;
  detail: Record<string, unknown>;
}

export interface OpenSwitch {
  instance: string;
  program: string;
  wave: number;
  state: string;
}

export interface Infrastructure {
  name: string;
  deliveryMode: string;
  relays: string[];
  heloName: string;
  verificationAddress: string;
}

export interface PlanWave {
  index: number;
  phase: string;
  retry: boolean;
  start: string;
  end: string;
  estimateMs: number;
  instances: string[];
}

export interface Plan {
  program: string;
  state: string;
  perInstanceMs: number;
  start: string;
  end: string;
  totalMs: number;
  notes: string[];
  waves: PlanWave[];
}

export interface StatusWave {
  index: number;
  phase: string;
  retry: boolean;
  state: string;
  start: string;
  end: string;
  estimateMs: number;
  actualStart: string | null;
  actualEnd: string | null;
  actualMs: number | null;
  instances: number;
}

export interface ProgramStatus {
  name: string;
  state: string;
  haltedReason: string | null;
  from: string;
  to: string;
  supportContact: string;
  publishedAt: string | null;
  waves: StatusWave[];
  instances: { name: string; wave: number; state: string; attempts: number; switchedAt: string | null; pausedMs: number | null; released: number | null; error: string | null }[];
  requests: { instance: string; kind: string; reason: string; answer: string; at: string }[];
}

export interface Notice {
  id: number;
  kind: string;
  to: string;
  locale: string;
  timezone: string;
  wave: number;
  dueAt: string;
  state: string;
  sentAt: string | null;
  subject: string | null;
  body: string | null;
  customer: string;
  program: string;
}
