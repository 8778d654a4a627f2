import { parseDuration } from '../duration.ts';

/**
 * When to try a deferred delivery again. The math takes the delivery's age instead of
 * reading the clock, so it is the same in tests, after a restart and after a suspension.
 */
export interface RetryPolicy {
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  maxAgeMs: number;
}

export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  initialDelayMs: 5 * 60_000,
  factor: 2,
  maxDelayMs: 4 * 3_600_000,
  maxAgeMs: 3.5 * 86_400_000,
});

export type RetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'expired' };

export type ParsedRetryPolicy = { ok: true; policy: RetryPolicy } | { ok: false; error: string };

const durationFields = ['initialDelayMs', 'maxDelayMs', 'maxAgeMs'] as const;

/**
 * Reads a partial policy (missing fields take the defaults). Durations are milliseconds
 * or strings such as "5m" or "3.5d"; unknown fields are refused so a typo ("maxAge")
 * does not silently leave the default in force.
 */
export function parseRetryPolicy(input: unknown): ParsedRetryPolicy {
  if (input === undefined) return { ok: true, policy: { ...defaultRetryPolicy } };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: 'retry policy must be an object' };
  }
  const raw = input as Record<string, unknown>;
  const known = new Set<string>([...durationFields, 'factor']);
  const unknown = Object.keys(raw).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    return { ok: false, error: `unknown field ${JSON.stringify(unknown[0])}; expected ${[...known].join(', ')}` };
  }

  const policy: RetryPolicy = { ...defaultRetryPolicy };
  for (const field of durationFields) {
    if (raw[field] === undefined) continue;
    const ms = readDuration(raw[field]);
    if (ms === null || ms <= 0) {
      return { ok: false, error: `${field} must be a positive duration such as "5m" or a number of milliseconds, got ${JSON.stringify(raw[field])}` };
    }
    policy[field] = ms;
  }
  if (raw.factor !== undefined) {
    // A factor below 1 would make later retries come sooner than earlier ones.
    if (typeof raw.factor !== 'number' || !Number.isFinite(raw.factor) || raw.factor < 1) {
      return { ok: false, error: `factor must be a number of at least 1, got ${JSON.stringify(raw.factor)}` };
    }
    policy.factor = raw.factor;
  }
  if (policy.maxDelayMs < policy.initialDelayMs) {
    return { ok: false, error: 'maxDelayMs must be at least initialDelayMs' };
  }
  return { ok: true, policy };
}

function readDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') return parseDuration(value);
  return null;
}

/** The uncapped-by-age delay after `attempts` attempts: initial * factor^(n-1), at most maxDelay. */
export function delayForAttempt(policy: RetryPolicy, attempts: number): number {
  // Attempts below 1 (a caller's slip) get the first delay rather than a shorter one.
  const n = Number.isFinite(attempts) && attempts >= 1 ? Math.floor(attempts) : 1;
  // factor^(n-1) may overflow to Infinity for large n; min() turns that into maxDelay.
  return Math.ceil(Math.min(policy.initialDelayMs * policy.factor ** (n - 1), policy.maxDelayMs));
}

/**
 * What to do after a deferral. `ageMs` excludes time the delivery was held (the caller
 * subtracts suspensions), so a held delivery never expires for being held. The last
 * retry is pulled forward to land exactly on maxAge; a deferral at or past maxAge expires.
 */
export function nextRetry(policy: RetryPolicy, attempts: number, ageMs: number): RetryDecision {
  // A NaN age is a caller bug; answering would store a NaN due time and strand the delivery.
  if (Number.isNaN(ageMs)) throw new RangeError('nextRetry: ageMs is NaN');
  if (ageMs >= policy.maxAgeMs) return { kind: 'expired' };
  const untilExpiry = policy.maxAgeMs - Math.max(0, ageMs);
  return { kind: 'retry', delayMs: Math.ceil(Math.min(delayForAttempt(policy, attempts), untilExpiry)) };
}
