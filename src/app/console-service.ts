import type { Clock } from '../core/clock.ts';
import type { Infrastructure, Instance } from '../core/fleet/fleet.ts';
import type { ConsoleReads, DomainQueue, NoticeRecord, OpenSwitch, OutcomeCounts, PendingDelivery, PrecheckRecord, TimelineBucket } from './console-reads.ts';
import type { FleetService } from './fleet-service.ts';

const hour = 3_600_000;

/** What the console's reads need besides the read port. */
export interface ConsolePorts {
  reads: ConsoleReads;
  fleet: { listInfrastructures(): Promise<Infrastructure[]>; listInstances(): Promise<Instance[]> };
  instances: Pick<FleetService, 'instanceByName'>;
  held: { heldCount(instanceId: number): Promise<number> };
}

export interface InfrastructureHealth {
  infrastructure: Infrastructure;
  /** Instances bound to it, mailshift's own sender left out. */
  instances: number;
  lastPrecheck: PrecheckRecord | null;
  lastHour: OutcomeCounts;
}

/** The operators' console: the views it needs beyond the admin API. Read-only. */
export class ConsoleService {
  constructor(
    private readonly ports: ConsolePorts,
    private readonly clock: Clock,
  ) {}

  /** Outcome events over the last `hours`, in `buckets` equal buckets ending now. */
  async timeline(hours: number, buckets: number): Promise<{ since: number; until: number; bucketMs: number; buckets: TimelineBucket[] }> {
    const bucketMs = Math.ceil((hours * hour) / buckets);
    const until = this.clock.now();
    const since = until - bucketMs * buckets;
    return { since, until, bucketMs, buckets: await this.ports.reads.timeline(since, until, bucketMs) };
  }

  queueByDomain(limit: number): Promise<DomainQueue[]> {
    return this.ports.reads.queueByDomain(limit);
  }

  /** An instance's deliveries not yet sent, oldest first, and how many are held for it. */
  async pending(name: string, limit: number): Promise<{ instance: Instance; held: number; deliveries: PendingDelivery[] }> {
    const instance = await this.ports.instances.instanceByName(name);
    const [held, deliveries] = await Promise.all([this.ports.held.heldCount(instance.id), this.ports.reads.pendingDeliveries(instance.id, limit)]);
    return { instance, held, deliveries };
  }

  /** Every infrastructure with its instance count, its last pre-check and the last hour's outcomes. */
  async infrastructures(): Promise<{ since: number; capped: boolean; infrastructures: InfrastructureHealth[] }> {
    const since = this.clock.now() - hour;
    const [infras, instances, prechecks, outcomes] = await Promise.all([
      this.ports.fleet.listInfrastructures(),
      this.ports.fleet.listInstances(),
      this.ports.reads.lastPrechecks(),
      this.ports.reads.outcomesByInfrastructure(since),
    ]);
    return {
      since,
      capped: outcomes.capped,
      infrastructures: infras.map((infrastructure) => ({
        infrastructure,
        instances: instances.filter((x) => x.infrastructureId === infrastructure.id && !x.system).length,
        lastPrecheck: prechecks.find((p) => p.infrastructure === infrastructure.name) ?? null,
        lastHour: outcomes.counts.get(infrastructure.id) ?? { delivered: 0, deferred: 0, bounced: 0 },
      })),
    };
  }

  openSwitches(): Promise<OpenSwitch[]> {
    return this.ports.reads.openSwitches();
  }

  /** The notice outbox, newest due first. */
  notices(limit: number): Promise<NoticeRecord[]> {
    return this.ports.reads.notices(limit);
  }
}
