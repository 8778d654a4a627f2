import type { Clock } from '../core/clock.ts';
import { DomainError } from '../core/errors.ts';
import type { Instance } from '../core/fleet/fleet.ts';
import { asciiAddress } from './idn-address.ts';

export interface Suppression {
  address: string;
  reason: string;
  createdAt: number;
}

/** What the service needs of the suppression store (addresses are stored lower-cased). */
export interface SuppressionStore {
  list(instanceId: number): Promise<Suppression[]>;
  add(instanceId: number, address: string, reason: string, now: number): Promise<boolean>;
  remove(instanceId: number, address: string): Promise<boolean>;
}

export const defaultSuppressionReason = 'added by API';

/** An instance's suppression list: mail to a listed address is not sent. */
export class SuppressionService {
  constructor(
    private readonly store: SuppressionStore,
    private readonly clock: Clock,
  ) {}

  list(instance: Instance): Promise<Suppression[]> {
    return this.store.list(instance.id);
  }

  /** Adds an address; `added` is false when it was listed already. */
  async add(instance: Instance, address: string, reason?: string): Promise<{ address: string; added: boolean }> {
    // Stored as deliveries are (A-label domains), so the suppression matches whichever form is sent to.
    const ascii = asciiAddress(address);
    if (!ascii.ok) throw new DomainError(ascii.error.code, ascii.error.detail);
    const added = await this.store.add(instance.id, ascii.value, reason ?? defaultSuppressionReason, this.clock.now());
    return { address: ascii.value.toLowerCase(), added };
  }

  /** Removes an address, given in either form (U-label or A-label domain); not listed is `not-found`. */
  async remove(instance: Instance, address: string): Promise<void> {
    const ascii = asciiAddress(address);
    const forms = new Set([address, ...(ascii.ok ? [ascii.value] : [])].map((a) => a.toLowerCase()));
    let removed = false;
    for (const form of forms) if (await this.store.remove(instance.id, form)) removed = true;
    if (!removed) throw new DomainError('not-found', `${address} is not suppressed`);
  }
}
