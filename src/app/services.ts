import type { Config } from '../config.ts';
import type { Clock } from '../core/clock.ts';
import type { Metrics } from '../metrics.ts';
import type { AcceptService } from './accept-service.ts';
import type { AuthGuard } from './auth-guard.ts';
import type { InflightBudget } from './inflight-budget.ts';
import type { FleetService } from './fleet-service.ts';
import type { ProgramService } from './program-service.ts';
import type { NoticeService } from './notice-service.ts';
import type { SubmissionService } from './submission-service.ts';
import type { SuppressionService } from './suppression-service.ts';
import type { WebhookService } from './webhook-service.ts';
import type { MessageReads } from './message-reads.ts';
import type { UpgradeStatusService } from './upgrade-status.ts';
import type { FleetReads } from './fleet-reads.ts';
import type { CaptureService } from './capture-service.ts';
import type { ConsoleService } from './console-service.ts';
import type { OperatorSessions } from './operator-sessions.ts';
import type { HealthService } from './health-service.ts';
import type { ClusterService } from './cluster-service.ts';
import type { SenderDomains } from './sender-domains.ts';
import type { DomainChecks } from './domain-check.ts';
import type { FeedbackService } from './feedback/feedback-service.ts';
import type { ReputationService } from './reputation-service.ts';

/**
 * A background loop as the services see it (the delivery engine, the upgrade runner):
 * declared here, so the app layer does not import the engine that implements it.
 */
export interface LoopControl {
  readonly running: boolean;
  /** Work may be due: look now rather than at the next poll. */
  wake(): void;
}

/** Everything the adapters (HTTP, SMTP, CLI server) call into, built once in main.ts. */
export interface Services {
  config: Readonly<Config>;
  adminToken: string;
  clock: Clock;
  /** Lockout of sources and accounts after failed credentials, for every door. */
  authGuard: AuthGuard;
  /** Bytes of message data in memory across submissions in progress. */
  inflight: InflightBudget;
  fleet: FleetService;
  acceptor: AcceptService;
  engine: LoopControl;
  metrics: Metrics;
  programService: ProgramService;
  notices: NoticeService;
  runner: LoopControl;
  /** The instance API's messages and batches, once per Idempotency-Key. */
  submissions: SubmissionService;
  suppressionService: SuppressionService;
  webhookService: WebhookService;
  messages: MessageReads;
  upgradeStatus: UpgradeStatusService;
  /** The operators' reads of customers, infrastructures, instances and the queue. */
  fleetReads: FleetReads;
  captureService: CaptureService;
  /** The console's views beyond the admin API, through the console's read port. */
  console: ConsoleService;
  operatorSessions: OperatorSessions;
  health: HealthService;
  /** The cluster's nodes and its leader. */
  cluster: ClusterService;
  /** Customers' sending domains and DKIM keys. */
  senderDomains: SenderDomains;
  /** SPF, DKIM and DMARC of a sending domain over DNS. */
  domainChecks: DomainChecks;
  /** Feedback after delivery: async bounces, complaints, unsubscribes (listener and one-click links). */
  feedback: FeedbackService;
  /** Rates per instance and infrastructure; suspension for complaints. */
  reputation: ReputationService;
}
