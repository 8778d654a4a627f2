/**
 * Failed-credential accounting for every door (SMTP AUTH, API keys, the admin token,
 * console sign-in). Keys are what is being protected or who is trying (`ip:203.0.113.9`,
 * `smtp:acme-prod`); after `maxFailures` within `windowMs` a key is locked, each further
 * lock twice as long as the one before, up to `maxLockMs`. Pure: the caller passes `now`.
 */
export interface LimiterPolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
  maxLockMs: number;
}

export type LimitVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

interface Entry {
  failures: number;
  windowStart: number;
  lockedUntil: number;
  /** Locks so far; forgotten once the key has been quiet for a window and the longest lock. */
  locks: number;
  lastFailure: number;
}

export const defaultSourcePolicy: LimiterPolicy = { maxFailures: 10, windowMs: 60_000, lockMs: 30_000, maxLockMs: 15 * 60_000 };
/** Accounts lock later than sources, so a stranger guessing cannot shut a tenant out for long. */
export const defaultAccountPolicy: LimiterPolicy = { maxFailures: 20, windowMs: 5 * 60_000, lockMs: 30_000, maxLockMs: 5 * 60_000 };

export class AttemptLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly policy: LimiterPolicy,
    /** Bound on remembered keys: the oldest are forgotten first, so a flood of sources cannot exhaust memory. */
    private readonly maxKeys = 100_000,
  ) {}

  check(key: string, now: number): LimitVerdict {
    const e = this.entries.get(key);
    if (!e || e.lockedUntil <= now) return { allowed: true };
    return { allowed: false, retryAfterMs: e.lockedUntil - now };
  }

  /** Whether the key failed within the last window (locked or not). */
  failing(key: string, now: number): boolean {
    const e = this.entries.get(key);
    return e !== undefined && (now - e.lastFailure <= this.policy.windowMs || e.lockedUntil > now);
  }

  /** Records a failure; returns the verdict for the next try. */
  failure(key: string, now: number): LimitVerdict {
    let e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      if (now - e.lastFailure > this.policy.windowMs + this.policy.maxLockMs) e.locks = 0;
      if (now - e.windowStart > this.policy.windowMs || (e.lockedUntil > 0 && e.lockedUntil <= now)) {
        e.failures = 0;
        e.windowStart = now;
        e.lockedUntil = 0;
      }
    } else {
      e = { failures: 0, windowStart: now, lockedUntil: 0, locks: 0, lastFailure: now };
    }
    e.failures++;
    e.lastFailure = now;
    if (e.failures >= this.policy.maxFailures && e.lockedUntil <= now) {
      e.lockedUntil = now + Math.min(this.policy.lockMs * 2 ** e.locks, this.policy.maxLockMs);
      e.locks++;
    }
    this.entries.set(key, e);
    this.trim();
    return this.check(key, now);
  }

  /**
   * A success clears the failures of a key that is not locked. Call it for accounts only:
   * clearing a source on success would let an attacker with one good credential of its own
   * interleave it with guesses at others.
   */
  success(key: string, now: number): void {
    const e = this.entries.get(key);
    if (e && e.lockedUntil <= now) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private trim(): void {
    while (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
