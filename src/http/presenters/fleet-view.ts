import type { MessageEvent } from '../../app/message-reads.ts';
import { eventView } from './message-view.ts';
import { iso } from './timestamp.ts';
import type { InstanceRow } from '../../app/fleet-reads.ts';
import { formatRelay } from '../../core/fleet/fleet-input.ts';
import type { Customer as StoredCustomer, Infrastructure as StoredInfrastructure, Instance as StoredInstance } from '../../core/fleet/fleet.ts';
import type { Customer, Infrastructure, Instance, InstanceDetail } from '../schemas/fleet.ts';

/** Customers, infrastructures and instances as the admin API shows them (schemas: fleet.ts). */
export function customerView(c: StoredCustomer): Customer {
  return { name: c.name, contacts: c.contacts.map(({ email, locale, timezone }) => ({ email, locale, timezone })), createdAt: iso(c.createdAt) };
}

/** DKIM keys are shown by domain and selector only: the private key never leaves the store; nor does a relay's password. */
export function infrastructureView(i: StoredInfrastructure): Infrastructure {
  return {
    name: i.name,
    deliveryMode: i.deliveryMode,
    relays: i.relays.map(formatRelay),
    sourceAddresses: i.sourceAddresses,
    heloName: i.heloName,
    dkim: i.dkim.map(({ domain, selector }) => ({ domain, selector })),
    shaping: i.shaping.map(({ domain, maxConnections, maxMessagesPerConnection, rate, tls }) => ({
      domain,
      maxConnections,
      maxMessagesPerConnection,
      rate,
      ...(tls ? { tls } : {}),
    })),
    verificationAddress: i.verificationAddress,
    createdAt: iso(i.createdAt),
    mxPort: i.mxPort,
    tls: i.tls,
    // A relay's password is never shown, sealed or not: only that one is set.
    relayTransport: i.relays.map((r) => ({
      relay: formatRelay(r),
      secure: r.secure === true,
      user: r.login?.user ?? null,
      passwordSet: r.login !== undefined,
    })),
    mtaSts: i.mtaSts,
    unverifiedFrom: i.unverifiedFrom,
    spfInclude: i.spfInclude,
    bounceDomain: i.bounceDomain ?? null,
  };
}

export function instanceView(instance: StoredInstance, names: { customer: string; infrastructure: string }, queue?: InstanceRow['queue']): Instance {
  return {
    name: instance.name,
    customer: names.customer,
    productLine: instance.productLine,
    environment: instance.environment,
    infrastructure: names.infrastructure,
    suspended: instance.suspended,
    suspendedAt: instance.suspendedAt === null ? null : iso(instance.suspendedAt),
    suspendedReason: instance.suspendedReason,
    allowFrom: instance.allowFrom,
    system: instance.system,
    createdAt: iso(instance.createdAt),
    ...(queue ? { queue } : {}),
    listUnsubscribe: instance.listUnsubscribe ?? false,
  };
}

export function instanceRowView(row: InstanceRow): Instance {
  return instanceView(row.instance, row, row.queue);
}

export function instanceDetailView(row: InstanceRow & { recentEvents: MessageEvent[] }): InstanceDetail {
  return { ...instanceRowView(row), recentEvents: row.recentEvents.map(eventView) };
}
