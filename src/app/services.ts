import type { Config } from '../config.ts';
import type { Clock } from '../core/clock.ts';
import type { DeliveryEngine } from '../engine/delivery-engine.ts';
import type { Metrics } from '../metrics.ts';
import type { CaptureRepository } from '../store/capture-repository.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import type { SpoolRepository } from '../store/spool-repository.ts';
import type { SuppressionRepository } from '../store/suppression-repository.ts';
import type { SuspensionRepository } from '../store/suspension-repository.ts';
import type { WebhookRepository } from '../store/webhook-repository.ts';
import type { AcceptService } from './accept-service.ts';
import type { AuthGuard } from './auth-guard.ts';
import type { InflightBudget } from './inflight-budget.ts';
import type { FleetService } from './fleet-service.ts';
import type { ProgramRepository } from '../store/program-repository.ts';
import type { ProgramService } from './program-service.ts';
import type { NoticeService } from './notice-service.ts';
import type { UpgradeRunner } from '../engine/upgrade-runner.ts';

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
  fleetRepository: FleetRepository;
  acceptor: AcceptService;
  spool: SpoolRepository;
  suppressions: SuppressionRepository;
  suspensions: SuspensionRepository;
  captures: CaptureRepository;
  webhooks: WebhookRepository;
  engine: DeliveryEngine;
  metrics: Metrics;
  programs: ProgramRepository;
  programService: ProgramService;
  notices: NoticeService;
  runner: UpgradeRunner;
}
