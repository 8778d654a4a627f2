import { iso } from './timestamp.ts';
import type { NoticeRecord } from '../../app/console-reads.ts';
import type { ProgramRecord } from '../../app/program-service.ts';
import type { Plan } from '../../core/upgrade/program.ts';
import type { Notice, ProgramList, StatusTokenIssued } from '../schemas/programs.ts';

/** Programs, plans and notices as the admin API shows them (schemas: programs.ts). */
export function programSummary(p: ProgramRecord): ProgramList['programs'][number] {
  return { name: p.name, state: p.state, from: p.spec.sourceInfrastructure, to: p.spec.targetInfrastructure, createdAt: iso(p.createdAt) };
}

export function planView(plan: Plan) {
  return {
    start: iso(plan.start),
    end: iso(plan.end),
    totalMs: plan.totalMs,
    notes: plan.notes,
    waves: plan.waves.map((w) => ({
      index: w.index,
      phase: w.phase,
      retry: w.retry,
      start: iso(w.start),
      end: iso(w.end),
      estimateMs: w.estimateMs,
      instances: w.instances.map((i) => i.name),
    })),
  };
}

export function noticeView(n: Omit<NoticeRecord, 'customer' | 'program'>): Notice {
  return {
    id: n.id,
    kind: n.kind,
    to: n.email,
    locale: n.locale,
    timezone: n.timezone,
    wave: n.wave_idx,
    dueAt: iso(n.due_at),
    state: n.state,
    sentAt: n.sent_at === null ? null : iso(n.sent_at),
    subject: n.subject,
    body: n.body,
  };
}

/** The token once, with the paths it opens. */
export function statusTokenView({ customer, token }: { customer: string; token: string }): StatusTokenIssued {
  return { customer, token, api: `/api/status/v1/${token}`, page: `/status/${token}` };
}
