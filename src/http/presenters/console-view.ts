import { iso } from './timestamp.ts';
import type { InfrastructureHealth } from '../../app/console-service.ts';
import type { NoticeRecord, PendingDelivery, TimelineBucket } from '../../app/console-reads.ts';
import type { Instance as StoredInstance } from '../../core/fleet/fleet.ts';
import { formatRelay } from '../../core/fleet/fleet-input.ts';
import type { ConsoleNotice, InfrastructureOverview, Pending, Timeline } from '../schemas/console.ts';
import { noticeView } from './program-view.ts';

/** The console's read views (schemas: console.ts). */
export function timelineView(t: { since: number; until: number; bucketMs: number; buckets: TimelineBucket[] }): Timeline {
  return { since: iso(t.since), until: iso(t.until), bucketMs: t.bucketMs, buckets: t.buckets.map((b) => ({ start: iso(b.start), ...b.counts })) };
}

export function pendingView(p: { instance: StoredInstance; held: number; deliveries: PendingDelivery[] }): Pending {
  return {
    instance: p.instance.name,
    suspended: p.instance.suspended,
    scheduled: p.held,
    deliveries: p.deliveries.map((d) => ({
      id: d.id,
      messageId: d.messageId,
      mailFrom: d.mailFrom,
      recipient: d.recipient,
      state: d.state,
      attempts: d.attempts,
      size: d.size,
      createdAt: iso(d.createdAt),
      dueAt: iso(d.dueAt),
      lastReply: d.lastReply,
    })),
  };
}

export function infrastructureOverviewView(o: { since: number; capped: boolean; infrastructures: InfrastructureHealth[] }): InfrastructureOverview {
  return {
    since: iso(o.since),
    capped: o.capped,
    infrastructures: o.infrastructures.map(({ infrastructure: i, instances, lastPrecheck: check, lastHour }) => ({
      name: i.name,
      deliveryMode: i.deliveryMode,
      relays: i.relays.map(formatRelay),
      heloName: i.heloName,
      verificationAddress: i.verificationAddress,
      instances,
      lastPrecheck: check ? { at: iso(check.at), ok: check.ok, program: check.program, detail: check.detail } : null,
      lastHour,
    })),
  };
}

export function consoleNoticeView(n: NoticeRecord): ConsoleNotice {
  return { ...noticeView(n), customer: n.customer, program: n.program };
}
