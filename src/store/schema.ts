import type { Generated } from 'kysely';
import type { CredentialKind, DeliveryMode, Environment, ProductLine, TlsPolicy } from '../core/fleet/fleet.ts';
import type { DeliveryCategory, DeliveryState, EventType } from '../core/spool/delivery-states.ts';
import type { NoticeKind, NoticeState } from '../core/upgrade/notice-kinds.ts';
import type { CustomerRequestKind, Phase, ProgramState, WaveState } from '../core/upgrade/program.ts';
import type { SwitchState } from '../core/upgrade/switch-machine.ts';
import type { DkimAlgorithm, UnverifiedFromPolicy } from '../core/sender/sending-domain.ts';

/** Timestamps are epoch milliseconds; JSON columns hold text; booleans are 0/1, so one
 * code path serves SQLite and PostgreSQL. */
export interface CustomerTable {
  id: Generated<number>;
  name: string;
  created_at: number;
}

export interface ContactTable {
  id: Generated<number>;
  customer_id: number;
  email: string;
  locale: string;
  timezone: string;
}

export interface InfrastructureTable {
  id: Generated<number>;
  name: string;
  /** JSON: string[] of "host:port"; empty with delivery_mode 'mx'. */
  relays: string;
  delivery_mode: DeliveryMode;
  /** JSON: string[] of local addresses to bind outbound connections to. */
  source_addresses: string;
  helo_name: string;
  /** JSON: DkimKey[]. */
  dkim: string;
  /** JSON: ShapingRule[]. */
  shaping: string;
  verification_address: string;
  created_at: number;
  mx_port: number | null;
  tls_policy: Generated<TlsPolicy>;
  /** 0/1. */
  mta_sts: Generated<number>;
  /** What mail from a domain its customer has not verified gets: 'unsigned' or 'refuse'. */
  unverified_from: Generated<UnverifiedFromPolicy>;
  /** The SPF include the customers' domains publish for this infrastructure, when it has one. */
  spf_include: string | null;
  /** VERP return paths at this domain; see migrations/007-feedback.ts. */
  bounce_domain: Generated<string | null>;
}

export interface InstanceTable {
  id: Generated<number>;
  name: string;
  customer_id: number;
  product_line: ProductLine;
  environment: Environment;
  infrastructure_id: number;
  suspended: number;
  suspended_at: number | null;
  suspended_reason: string | null;
  /** JSON: string[] of CIDRs allowed to inject without AUTH. */
  allow_from: string;
  created_at: number;
  system: Generated<number>;
  /** One-click unsubscribe on every message; see migrations/007-feedback.ts. */
  list_unsubscribe: Generated<number>;
}

export interface CredentialTable {
  id: Generated<number>;
  instance_id: number;
  kind: CredentialKind;
  /** SMTP username, or the public id part of an API key. */
  lookup: string;
  secret_hash: string;
  created_at: number;
}

export interface MessageTable {
  id: string;
  instance_id: number;
  mail_from: string;
  raw: Buffer;
  size: number;
  header_message_id: string | null;
  created_at: number;
  /** Each delivery carries List-Unsubscribe (the instance's or the API message's choice). */
  list_unsubscribe: Generated<number>;
}

export interface DeliveryTable {
  id: Generated<number>;
  message_id: string;
  instance_id: number;
  recipient: string;
  domain: string;
  state: DeliveryState;
  attempts: number;
  /** When scheduled: next attempt; when inflight: the claim's lease expiry. */
  due_at: number;
  expires_at: number;
  created_at: number;
  updated_at: number;
  last_reply: string | null;
  last_category: DeliveryCategory | null;
  lease_owner: string | null;
  /** The node that accepted the message, in a cluster; see migrations/006-claim-affinity.ts. */
  accepted_by: Generated<string | null>;
}

export interface EventTable {
  id: Generated<number>;
  instance_id: number;
  message_id: string | null;
  delivery_id: number | null;
  type: EventType;
  recipient: string | null;
  at: number;
  /** JSON object. */
  detail: string;
}

export interface SuppressionTable {
  instance_id: number;
  address: string;
  reason: string;
  created_at: number;
}

export interface WebhookTable {
  id: Generated<number>;
  instance_id: number;
  url: string;
  secret: string;
  /** Last event id sent. */
  cursor: number;
  failures: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
}

export interface IdempotencyKeyTable {
  instance_id: number;
  key: string;
  request_hash: string;
  response: string;
  created_at: number;
}

export interface CapturedMessageTable {
  id: Generated<number>;
  mail_from: string;
  /** JSON: string[]. */
  recipients: string;
  raw: Buffer;
  received_at: number;
}

export interface ProgramTable {
  id: Generated<number>;
  name: string;
  /** JSON: ProgramSpec. */
  spec: string;
  state: ProgramState;
  created_at: number;
  published_at: number | null;
  halted_reason: string | null;
}

export interface ProgramWaveTable {
  id: Generated<number>;
  program_id: number;
  idx: number;
  phase: Phase;
  retry: number;
  start_at: number;
  end_at: number;
  estimate_ms: number;
  state: WaveState;
  actual_start: number | null;
  actual_end: number | null;
}

export interface SwitchTable {
  id: Generated<number>;
  program_id: number;
  instance_id: number;
  wave_idx: number;
  state: SwitchState;
  attempts: number;
  started_at: number | null;
  suspended_at: number | null;
  switched_at: number | null;
  paused_ms: number | null;
  released: number | null;
  error: string | null;
  updated_at: number;
}

export interface SwitchLogTable {
  id: Generated<number>;
  switch_id: number;
  from_state: SwitchState;
  to_state: SwitchState;
  at: number;
  detail: string | null;
}

export interface NoticeTable {
  id: Generated<number>;
  program_id: number;
  customer_id: number;
  email: string;
  locale: string;
  timezone: string;
  kind: NoticeKind;
  wave_idx: number;
  due_at: number;
  state: NoticeState;
  /** JSON: what the template needs beyond the wave (instances, counts, reason). */
  detail: string;
  subject: string | null;
  body: string | null;
  message_id: string | null;
  sent_at: number | null;
  /** The node sending it now, until `lease_until`; see migrations/004-cluster.ts. */
  lease_owner: Generated<string | null>;
  lease_until: Generated<number | null>;
}

export interface RescheduleRequestTable {
  id: Generated<number>;
  instance_id: number;
  program_id: number | null;
  kind: CustomerRequestKind;
  reason: string;
  answer: string;
  at: number;
}

export interface StatusTokenTable {
  customer_id: number;
  token_hash: string;
  created_at: number;
}

/** An operator's console session; see migrations/003-sessions.ts. */
export interface SessionTable {
  /** SHA-256 (hex) of the cookie's nonce. */
  id: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

/** A node of the cluster; see migrations/004-cluster.ts. */
export interface NodeTable {
  id: string;
  host: string;
  pid: number;
  version: string;
  /** JSON: NodeRole[]. */
  roles: string;
  started_at: number;
  last_seen_at: number;
  stopped_at: number | null;
}

/** A named lease (the leader's) with its fencing epoch. */
export interface LeaseTable {
  name: string;
  holder: string;
  epoch: number;
  expires_at: number;
}

/** A cluster-wide token bucket of one rate rule; see migrations/005-cluster-limits.ts. */
export interface RateBudgetTable {
  /** `<infrastructureId>:<domain>`. */
  key: string;
  tokens: number;
  /** The last grant (negative: tokens given back), read back by the statement that made it. */
  granted: number;
  updated_at: number;
  /** When the bucket is full again, so the row may be dropped. */
  full_at: number;
}

/** A connection slot (0…maxConnections-1) of one destination, held by a node while a session is open. */
export interface ConnectionSlotTable {
  /** `<infrastructureId>:<domain>`. */
  key: string;
  slot: number;
  node_id: string;
  expires_at: number;
}

/** A domain a customer sends as; see migrations/008-sending-domains.ts. */
export interface SendingDomainTable {
  id: Generated<number>;
  customer_id: number;
  domain: string;
  verified: number;
  verify_token: string;
  verified_at: number | null;
  created_at: number;
}

export interface DomainKeyTable {
  id: Generated<number>;
  domain_id: number;
  selector: string;
  algorithm: DkimAlgorithm;
  public_key: string;
  /** AES-256-GCM with the secret key: never the PEM itself. */
  sealed_private_key: string;
  created_at: number;
  retire_at: number | null;
}

/** A message the feedback listener received; see migrations/007-feedback.ts. */
export interface FeedbackReportTable {
  id: Generated<number>;
  received_at: number;
  kind: string;
  delivery_id: number | null;
  instance_id: number | null;
  remote_address: string;
  /** JSON object. */
  detail: string;
}

/** Reputation counts of one hour, instance and infrastructure. */
export interface ReputationCountTable {
  hour: number;
  instance_id: number;
  infrastructure_id: number;
  delivered: Generated<number>;
  hard_bounced: Generated<number>;
  complained: Generated<number>;
  unsubscribed: Generated<number>;
}

export interface Database {
  customers: CustomerTable;
  contacts: ContactTable;
  infrastructures: InfrastructureTable;
  instances: InstanceTable;
  credentials: CredentialTable;
  messages: MessageTable;
  deliveries: DeliveryTable;
  events: EventTable;
  suppressions: SuppressionTable;
  webhooks: WebhookTable;
  idempotency_keys: IdempotencyKeyTable;
  captured_messages: CapturedMessageTable;
  programs: ProgramTable;
  program_waves: ProgramWaveTable;
  switches: SwitchTable;
  switch_log: SwitchLogTable;
  notices: NoticeTable;
  reschedule_requests: RescheduleRequestTable;
  status_tokens: StatusTokenTable;
  sessions: SessionTable;
  nodes: NodeTable;
  leases: LeaseTable;
  rate_budgets: RateBudgetTable;
  connection_slots: ConnectionSlotTable;
  sending_domains: SendingDomainTable;
  domain_keys: DomainKeyTable;
  feedback_reports: FeedbackReportTable;
  reputation_counts: ReputationCountTable;
}
