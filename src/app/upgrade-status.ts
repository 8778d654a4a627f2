import { DomainError } from '../core/errors.ts';
import type { Customer, Instance } from '../core/fleet/fleet.ts';
import type { CustomerFacingState } from './program-service.ts';
import { hashStatusToken } from './status-token.ts';

/**
 * One instance's upgrade as the upgrade programs report it. The operators' bookkeeping
 * (program, phase, wave, retry) is here too: the instance's own API shows it, the
 * customer's status page leaves it out (see http/presenters/status-view.ts).
 */
export interface InstanceUpgradeStatus {
  instance: string;
  environment: string;
  state: CustomerFacingState;
  supportContact: string | null;
  program?: string;
  phase?: string;
  wave?: number;
  retry?: boolean;
  window?: { start: string | null; end: string | null };
  estimateMs?: number;
  actualStart?: string | null;
  actualEnd?: string | null;
  held?: number | null;
  switchedAt?: string | null;
  pausedMs?: number | null;
  released?: number | null;
}

/** A customer's status page: the customer and its instances' upgrades. */
export interface CustomerStatus {
  customer: Customer;
  instances: InstanceUpgradeStatus[];
}

/** The ports this reads through. */
export interface UpgradeStatusPorts {
  tokens: { customerOfToken(tokenHash: string): Promise<number | undefined> };
  fleet: { listCustomers(): Promise<Customer[]>; listInstances(): Promise<Instance[]> };
  upgrades: { instanceStatus(instance: Instance, held: () => Promise<number>): Promise<InstanceUpgradeStatus> };
  held: { heldCount(instanceId: number): Promise<number> };
}

/** Where an instance's upgrade stands: for the instance's own key, and for its customer's status link. */
export class UpgradeStatusService {
  constructor(private readonly ports: UpgradeStatusPorts) {}

  ofInstance(instance: Instance): Promise<InstanceUpgradeStatus> {
    return this.ports.upgrades.instanceStatus(instance, () => this.ports.held.heldCount(instance.id));
  }

  /** The status page a token opens: that customer's instances only; an unknown or replaced token is `not-found`. */
  async ofToken(token: string): Promise<CustomerStatus> {
    const customerId = await this.ports.tokens.customerOfToken(hashStatusToken(token));
    const customer = customerId === undefined ? undefined : (await this.ports.fleet.listCustomers()).find((c) => c.id === customerId);
    if (!customer) throw new DomainError('not-found', 'no status page for this link');
    const instances = (await this.ports.fleet.listInstances()).filter((i) => i.customerId === customer.id && !i.system);
    return { customer, instances: await Promise.all(instances.map((i) => this.ofInstance(i))) };
  }
}
