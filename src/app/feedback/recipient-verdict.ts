import { classifyReply, type BounceRule, type SmtpReply } from '../../core/delivery/bounce-rules.ts';
import { hardCategories } from '../../core/delivery/outcome.ts';
import type { BounceVerdict, DsnAction } from './feedback-report.ts';

const statusPattern = /^[245]\.\d{1,3}\.\d{1,3}$/;
const leadingCode = /^\s*#?([245]\d\d)(?=[\s-]|$)/;
const embeddedReply = /(?:^|[\s'"(:#])([245]\d\d)[ -]#?([245]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)/;

/**
 * The SMTP reply a report describes: the diagnostic's own code where it has one, the
 * Status as the enhanced code (unless it is a bare x.0.0 and the diagnostic is more
 * precise), and a code made up from the Status or the Action when the report gives none,
 * since the rules key on the code class.
 */
export function replyOf(action: DsnAction, status: string | null, diagnostic: string | null): SmtpReply {
  const text = diagnostic ?? '';
  const enhancedStatus = status !== null && statusPattern.test(status) ? status : null;
  const embedded = embeddedReply.exec(text);
  const code = Number(leadingCode.exec(text)?.[1] ?? embedded?.[1] ?? 0) || codeFor(enhancedStatus, action);
  const generic = enhancedStatus !== null && /\.0\.0$/.test(enhancedStatus) && embedded !== null;
  return { code, enhanced: generic ? null : enhancedStatus, text };
}

function codeFor(status: string | null, action: DsnAction): number | null {
  const klass = status?.[0] ?? { failed: '5', delayed: '4', delivered: '2', relayed: '2', expanded: '2', unknown: '' }[action];
  return klass === '5' ? 550 : klass === '4' ? 450 : klass === '2' ? 250 : null;
}

/**
 * The Action decides the outcome (a `failed` DSN is final even when the last reply was a
 * 4xx: the reporting MTA gave up), the bounce rules decide the category.
 */
export function verdictFor(action: DsnAction, status: string | null, diagnostic: string | null, rules?: readonly BounceRule[]): BounceVerdict {
  const reply = replyOf(action, status, diagnostic);
  const c = classifyReply(reply, rules);
  const outcome = action === 'failed' ? 'bounced' : action === 'delayed' ? 'deferred' : action === 'unknown' ? c.outcome : 'delivered';
  if (outcome === 'delivered') return { outcome, category: null, hard: false, reply };
  const category = c.category ?? 'other';
  return { outcome, category, hard: outcome === 'bounced' && hardCategories.has(category), reply };
}

export function dsnAction(text: string | null): DsnAction {
  const word = (text ?? '')
    .trim()
    .toLowerCase()
    .split(/[\s(;]/)[0];
  return (['failed', 'delayed', 'delivered', 'relayed', 'expanded'] as const).find((a) => a === word) ?? 'unknown';
}
