import { classifyReply, type BounceCategory, type BounceRule, type SmtpReply } from './bounce-rules.ts';
import { nextRetry, type RetryPolicy } from './retry-schedule.ts';

export interface AttemptContext {
  /** Attempts made before this one. */
  attempts: number;
  /** When the delivery expires; suspensions move it later, so held time never ages mail. */
  expiresAt: number;
  now: number;
}

export type Decision =
  | { kind: 'delivered' }
  | { kind: 'deferred'; category: BounceCategory; retryAt: number }
  | { kind: 'bounced'; category: BounceCategory; suppress: boolean }
  | { kind: 'expired'; category: BounceCategory };

/** Bounces that say the address itself is bad; policy and content refusals say nothing of it. */
/** Bounces that say the address will never work: the address is suppressed. */
export const hardCategories: ReadonlySet<BounceCategory> = new Set(['unknown-user', 'bad-domain']);

/** What to do with a delivery after an SMTP attempt: pure, so retries never read the clock. */
export function decideOutcome(reply: SmtpReply, ctx: AttemptContext, policy: RetryPolicy, rules?: readonly BounceRule[]): Decision {
  const c = classifyReply(reply, rules);
  const category = c.category ?? 'other';
  if (c.outcome === 'delivered') return { kind: 'delivered' };
  if (c.outcome === 'bounced') return { kind: 'bounced', category, suppress: hardCategories.has(category) };
  const ageMs = policy.maxAgeMs - (ctx.expiresAt - ctx.now);
  const next = nextRetry(policy, ctx.attempts + 1, Math.max(0, ageMs));
  if (next.kind === 'expired') return { kind: 'expired', category };
  return { kind: 'deferred', category, retryAt: ctx.now + next.delayMs };
}
