import type { CustomerStatus, InstanceUpgradeStatus } from '../../app/upgrade-status.ts';
import type { CustomerInstanceStatus, StatusPage } from '../schemas/status-page.ts';

/**
 * The customer's status page, built field by field: an allow-list, so a field the
 * operators' views gain later (program, wave, retry, error, attempts …) never reaches a
 * customer unless it is added here and to the StatusPage schema.
 */
export function statusPageView({ customer, instances }: CustomerStatus): StatusPage {
  const contact = customer.contacts[0];
  return {
    customer: customer.name,
    locale: contact?.locale ?? 'en',
    timezone: contact?.timezone ?? 'UTC',
    instances: instances.map(customerInstanceView),
  };
}

function customerInstanceView(s: InstanceUpgradeStatus): CustomerInstanceStatus {
  const base: CustomerInstanceStatus = { instance: s.instance, environment: s.environment, state: s.state, supportContact: s.supportContact };
  // Nothing scheduled: no window, no figures.
  if (s.window === undefined) return base;
  return {
    ...base,
    window: { start: s.window.start, end: s.window.end },
    estimateMs: s.estimateMs,
    actualStart: s.actualStart,
    actualEnd: s.actualEnd,
    held: s.held,
    switchedAt: s.switchedAt,
    pausedMs: s.pausedMs,
    released: s.released,
  };
}
