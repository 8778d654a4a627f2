/**
 * Shapes of the admin API's answers, from the same schemas the server validates and
 * serializes with (src/http/schemas): type-only imports, erased from the bundle.
 */
import type { ProgramStatus, Plan } from '../../src/http/schemas/programs.ts';

export type { QueueCounts, QueueDomains, QueueView } from '../../src/http/schemas/queue.ts';
export type {
  Instance as InstanceRow,
  InstanceList,
  InstanceDetail,
  EventRow,
  Infrastructure,
  InfrastructureList,
  Resumed,
} from '../../src/http/schemas/fleet.ts';
export type {
  OpenSwitch,
  OpenSwitches,
  Timeline,
  Pending,
  InfrastructureOverview,
  ConsoleNotice as Notice,
  ConsoleNotices,
} from '../../src/http/schemas/console.ts';
export type { Plan, ProgramList, ProgramCreated, ProgramStatus, StatusTokenIssued } from '../../src/http/schemas/programs.ts';
export type { InstanceUpgradeStatus } from '../../src/http/schemas/upgrade-status.ts';
export type { SuppressionList } from '../../src/http/schemas/suppressions.ts';
export type { Session } from '../../src/http/schemas/session.ts';
export type { ClusterView, NodeStatus } from '../../src/http/schemas/cluster.ts';
export type { Reputation, ReputationReport } from '../../src/http/schemas/feedback.ts';

export type PlanWave = Plan['waves'][number];
export type StatusWave = ProgramStatus['waves'][number];
export type { DomainCheck, DomainList } from '../../src/http/schemas/senders.ts';
