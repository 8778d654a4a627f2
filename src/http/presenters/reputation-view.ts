import type { ReputationReport as Report } from '../../app/reputation-service.ts';
import type { ReputationReport } from '../schemas/feedback.ts';
import { iso } from './timestamp.ts';

/** The reputation report as the admin API shows it (schema: ReputationReport). */
export function reputationReportView(r: Report): ReputationReport {
  return {
    at: iso(r.at),
    complaintThreshold: r.complaintThreshold,
    complaintMinDeliveries: r.complaintMinDeliveries,
    instances: r.instances,
    infrastructures: r.infrastructures,
    alerts: r.alerts.map((a) => ({ instance: a.instance, since: a.since === null ? null : iso(a.since), reason: a.reason })),
  };
}
