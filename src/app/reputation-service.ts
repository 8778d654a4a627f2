import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { DomainError } from '../core/errors.ts';
import type { Instance } from '../core/fleet/fleet.ts';
import type { EventRepository } from '../store/event-repository.ts';
import type { ReputationRepository, ReputationTotals } from '../store/reputation-repository.ts';
import type { FleetNames } from './fleet-names.ts';

/** Counts and rates over one window; a rate is its count over the deliveries (0 without any). */
export interface ReputationWindow {
  deliveries: number;
  hardBounces: number;
  complaints: number;
  unsubscribes: number;
  hardBounceRate: number;
  complaintRate: number;
  unsubscribeRate: number;
}

export interface Reputation {
  name: string;
  day: ReputationWindow;
  week: ReputationWindow;
}

export interface ReputationReport {
  at: number;
  complaintThreshold: number;
  complaintMinDeliveries: number;
  instances: Reputation[];
  infrastructures: Reputation[];
  /** Instances suspended for their complaint rate and not resumed since. */
  alerts: { instance: string; since: number | null; reason: string }[];
}

export interface ReputationOptions {
  complaintThreshold: number;
  complaintMinDeliveries: number;
}

const dayMs = 24 * 3_600_000;
/** Starts the reason of an automatic suspension, which the console shows as an alert. */
export const reputationReasonPrefix = 'reputation:';

/**
 * Deliveries, hard bounces, complaints and unsubscribes per instance and per infrastructure
 * over the last 24 h and 7 d; and the automatic suspension of an instance whose complaint
 * rate passes the threshold, checked at each complaint (so an operator's resume holds
 * until the next complaint finds the rate still too high).
 */
export class ReputationService {
  constructor(
    private readonly store: { reputation: Pick<ReputationRepository, 'totals'>; events: Pick<EventRepository, 'addEvents'> },
    private readonly fleet: { listInstances(): Promise<Instance[]>; findInstance(by: { id: number } | { name: string }): Promise<Instance | undefined> },
    private readonly names: FleetNames,
    private readonly suspend: (name: string, reason: string) => Promise<{ kind: string }>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: ReputationOptions,
  ) {}

  async report(): Promise<ReputationReport> {
    const now = this.clock.now();
    const [day, week, instances] = await Promise.all([
      this.store.reputation.totals(now - dayMs),
      this.store.reputation.totals(now - 7 * dayMs),
      this.fleet.listInstances(),
    ]);
    const byInstance = await this.grouped(day, week, (t) => this.names.instance(t.instanceId));
    const byInfrastructure = await this.grouped(day, week, (t) => this.names.infrastructure(t.infrastructureId));
    return {
      at: now,
      complaintThreshold: this.options.complaintThreshold,
      complaintMinDeliveries: this.options.complaintMinDeliveries,
      instances: byInstance,
      infrastructures: byInfrastructure,
      alerts: instances
        .filter((i) => i.suspended && (i.suspendedReason ?? '').startsWith(reputationReasonPrefix))
        .map((i) => ({ instance: i.name, since: i.suspendedAt, reason: i.suspendedReason ?? '' })),
    };
  }

  async instance(name: string): Promise<Reputation> {
    const instance = await this.fleet.findInstance({ name });
    if (!instance) throw new DomainError('not-found', `no instance named ${JSON.stringify(name)}`);
    const now = this.clock.now();
    const [day, week] = await Promise.all([this.store.reputation.totals(now - dayMs, instance.id), this.store.reputation.totals(now - 7 * dayMs, instance.id)]);
    return { name, day: window(day), week: window(week) };
  }

  /** Suspends the instance when its complaint rate over 24 h passes the threshold; true when it did. */
  async checkComplaints(instanceId: number): Promise<boolean> {
    const instance = await this.fleet.findInstance({ id: instanceId });
    if (!instance || instance.suspended) return false;
    const now = this.clock.now();
    const day = window(await this.store.reputation.totals(now - dayMs, instanceId));
    const { complaintThreshold: threshold, complaintMinDeliveries: min } = this.options;
    if (day.deliveries < min || day.complaintRate <= threshold) return false;
    const reason = `${reputationReasonPrefix} complaint rate ${percent(day.complaintRate)} (${day.complaints} complaints of ${day.deliveries} deliveries in 24 h) passed ${percent(threshold)}`;
    const result = await this.suspend(instance.name, reason);
    if (result.kind !== 'suspended') return false;
    await this.store.events.addEvents([
      {
        instanceId,
        type: 'reputation.suspended',
        at: now,
        detail: { reason, complaintRate: day.complaintRate, complaints: day.complaints, deliveries: day.deliveries, threshold },
      },
    ]);
    this.log.warn({ instance: instance.name, complaintRate: day.complaintRate, deliveries: day.deliveries }, 'instance suspended for its complaint rate');
    return true;
  }

  private async grouped(day: ReputationTotals[], week: ReputationTotals[], nameOf: (t: ReputationTotals) => Promise<string>): Promise<Reputation[]> {
    const groups = new Map<string, { day: ReputationTotals[]; week: ReputationTotals[] }>();
    for (const [which, rows] of [
      ['day', day],
      ['week', week],
    ] as const) {
      for (const t of rows) {
        const name = await nameOf(t);
        const g = groups.get(name) ?? { day: [], week: [] };
        g[which].push(t);
        groups.set(name, g);
      }
    }
    return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([name, g]) => ({ name, day: window(g.day), week: window(g.week) }));
  }
}

function window(rows: readonly ReputationTotals[]): ReputationWindow {
  const sum = (k: 'delivered' | 'hardBounced' | 'complained' | 'unsubscribed') => rows.reduce((n, r) => n + r[k], 0);
  const deliveries = sum('delivered');
  const rate = (n: number) => (deliveries === 0 ? 0 : n / deliveries);
  const hardBounces = sum('hardBounced');
  const complaints = sum('complained');
  const unsubscribes = sum('unsubscribed');
  return {
    deliveries,
    hardBounces,
    complaints,
    unsubscribes,
    hardBounceRate: rate(hardBounces),
    complaintRate: rate(complaints),
    unsubscribeRate: rate(unsubscribes),
  };
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(2)}%`;
}
