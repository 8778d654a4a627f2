import { DomainError } from '../core/errors.ts';
import type { Customer, Infrastructure, Instance } from '../core/fleet/fleet.ts';
import { deliveryStates, zeroCounts, type DeliveryCounts, type DeliveryState } from '../core/spool/delivery-states.ts';
import type { MessageEvent } from './message-reads.ts';

/** The fleet records this reads. */
export interface FleetRecords {
  listCustomers(): Promise<Customer[]>;
  listInfrastructures(): Promise<Infrastructure[]>;
  listInstances(): Promise<Instance[]>;
  findInstance(by: { name: string }): Promise<Instance | undefined>;
}

/** The spool's aggregates this reads. */
export interface QueueRecords {
  queueCounts(): Promise<{ instanceId: number; state: DeliveryState; count: number }[]>;
}

/** The events this reads. */
export interface RecentEvents {
  recentEvents(instanceId: number, limit: number): Promise<MessageEvent[]>;
}

/** An instance with the names of its customer and infrastructure, and its queue. */
export interface InstanceRow {
  instance: Instance;
  customer: string;
  infrastructure: string;
  queue: DeliveryCounts;
}

const recentEventCount = 50;

/** What operators read of the fleet: customers, infrastructures, instances and their queues. */
export class FleetReads {
  constructor(
    private readonly fleet: FleetRecords,
    private readonly spool: QueueRecords,
    private readonly events: RecentEvents,
  ) {}

  customers(): Promise<Customer[]> {
    return this.fleet.listCustomers();
  }

  infrastructures(): Promise<Infrastructure[]> {
    return this.fleet.listInfrastructures();
  }

  async instances(): Promise<InstanceRow[]> {
    const [instances, names, queue] = await Promise.all([this.fleet.listInstances(), this.names(), this.queue()]);
    return instances.map((i) => this.row(i, names, queue.instances));
  }

  /** One instance with its latest events, newest first. */
  async instance(name: string): Promise<InstanceRow & { recentEvents: MessageEvent[] }> {
    const instance = await this.fleet.findInstance({ name });
    if (!instance) throw new DomainError('not-found', `no instance named ${JSON.stringify(name)}`);
    const [names, queue, recentEvents] = await Promise.all([this.names(), this.queue(), this.events.recentEvents(instance.id, recentEventCount)]);
    return { ...this.row(instance, names, queue.instances), recentEvents };
  }

  /** Delivery counts per state, overall and per instance name. */
  async queue(): Promise<{ total: DeliveryCounts; instances: Record<string, DeliveryCounts> }> {
    const [rows, instances] = await Promise.all([this.spool.queueCounts(), this.fleet.listInstances()]);
    const byId = new Map(instances.map((i) => [i.id, i.name]));
    const total = zeroCounts(deliveryStates);
    const per: Record<string, DeliveryCounts> = {};
    for (const i of instances) per[i.name] = zeroCounts(deliveryStates);
    for (const r of rows) {
      total[r.state] += r.count;
      const name = byId.get(r.instanceId);
      if (name) per[name][r.state] += r.count;
    }
    return { total, instances: per };
  }

  private async names(): Promise<{ customers: Map<number, string>; infrastructures: Map<number, string> }> {
    const [customers, infrastructures] = await Promise.all([this.fleet.listCustomers(), this.fleet.listInfrastructures()]);
    return { customers: new Map(customers.map((c) => [c.id, c.name])), infrastructures: new Map(infrastructures.map((i) => [i.id, i.name])) };
  }

  private row(
    instance: Instance,
    names: { customers: Map<number, string>; infrastructures: Map<number, string> },
    queues: Record<string, DeliveryCounts>,
  ): InstanceRow {
    return {
      instance,
      customer: names.customers.get(instance.customerId) ?? '',
      infrastructure: names.infrastructures.get(instance.infrastructureId) ?? '',
      queue: queues[instance.name] ?? zeroCounts(deliveryStates),
    };
  }
}
