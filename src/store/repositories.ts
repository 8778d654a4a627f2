import type { Store } from './database.ts';
import { unfenced, type Fence } from './fence.ts';
import { CaptureRepository } from './capture-repository.ts';
import { ConsoleQueries } from './console-queries.ts';
import { CustomerRequestRepository } from './customer-request-repository.ts';
import { EventRepository } from './event-repository.ts';
import { FeedbackRepository } from './feedback-repository.ts';
import { FleetRepository } from './fleet-repository.ts';
import { IdempotencyRepository } from './idempotency-repository.ts';
import { LeaseRepository } from './lease-repository.ts';
import { NodeRepository } from './node-repository.ts';
import { NoticeRepository } from './notice-repository.ts';
import { ProgramRepository } from './program-repository.ts';
import { ReputationRepository } from './reputation-repository.ts';
import { RetentionRepository } from './retention-repository.ts';
import { SendingDomainRepository } from './sending-domain-repository.ts';
import { SessionRepository } from './session-repository.ts';
import { SpoolRepository } from './spool-repository.ts';
import { StatusTokenRepository } from './status-token-repository.ts';
import { SuppressionRepository } from './suppression-repository.ts';
import { SuspensionRepository } from './suspension-repository.ts';
import { SwitchRepository } from './switch-repository.ts';
import { WaveRepository } from './wave-repository.ts';
import { WebhookRepository } from './webhook-repository.ts';

/**
 * Every repository over one store, one per concept. The composition root hands each
 * service only the ones it needs; the adapters never see them.
 */
export interface Repositories {
  fleet: FleetRepository;
  spool: SpoolRepository;
  events: EventRepository;
  idempotency: IdempotencyRepository;
  retention: RetentionRepository;
  suppressions: SuppressionRepository;
  suspensions: SuspensionRepository;
  captures: CaptureRepository;
  webhooks: WebhookRepository;
  programs: ProgramRepository;
  waves: WaveRepository;
  switches: SwitchRepository;
  notices: NoticeRepository;
  statusTokens: StatusTokenRepository;
  customerRequests: CustomerRequestRepository;
  sessions: SessionRepository;
  console: ConsoleQueries;
  nodes: NodeRepository;
  leases: LeaseRepository;
  sendingDomains: SendingDomainRepository;
  feedback: FeedbackRepository;
  reputation: ReputationRepository;
}

/**
 * `fence` guards the writes of the work done once for the cluster (programs, waves,
 * switches, notices, webhook cursors, retention); the composition root makes a second,
 * fenced set for the leader's loops.
 */
export function createRepositories(
  store: Pick<Store, 'db' | 'dialect'> & Partial<Pick<Store, 'batch'>>,
  fence: Fence = unfenced,
  options: { node?: string } = {},
): Repositories {
  const { db } = store;
  return {
    fleet: new FleetRepository(db),
    spool: new SpoolRepository(db, store.dialect, options.node, store.batch),
    events: new EventRepository(db),
    idempotency: new IdempotencyRepository(db),
    retention: new RetentionRepository(db, fence),
    suppressions: new SuppressionRepository(db),
    suspensions: new SuspensionRepository(db),
    captures: new CaptureRepository(db),
    webhooks: new WebhookRepository(db, fence),
    programs: new ProgramRepository(db, fence),
    waves: new WaveRepository(db, fence),
    switches: new SwitchRepository(db, fence),
    notices: new NoticeRepository(db, fence),
    statusTokens: new StatusTokenRepository(db),
    customerRequests: new CustomerRequestRepository(db),
    sessions: new SessionRepository(db),
    console: new ConsoleQueries(db),
    nodes: new NodeRepository(db),
    leases: new LeaseRepository(db, store.dialect),
    sendingDomains: new SendingDomainRepository(db),
    feedback: new FeedbackRepository(db),
    reputation: new ReputationRepository(db),
  };
}
