import { parseDuration } from '../duration.ts';

/** `count` sends per `perMs` milliseconds; "10/5s" is { count: 10, perMs: 5000 }. */
export interface Rate {
  count: number;
  perMs: number;
}

export type ParsedRate = { ok: true; rate: Rate } | { ok: false; error: string };

const ratePattern = /^(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*(s|secs?|m|mins?|h|hrs?|d|days?)$/i;

/** Reads throttles written as "100/s", "5000/h", "20/min", "1/day" or "10/5s". */
export function parseRate(s: string): ParsedRate {
  const m = ratePattern.exec(s.trim());
  if (!m) return { ok: false, error: `rate must look like "100/s", "5000/h" or "10/5s", got ${JSON.stringify(s)}` };
  const count = Number(m[1]);
  if (!Number.isSafeInteger(count) || count < 1) return { ok: false, error: `rate count must be a positive whole number, got ${JSON.stringify(s)}` };
  const perMs = parseDuration(`${m[2] ?? '1'}${m[3]}`);
  if (perMs === null || perMs < 1) return { ok: false, error: `rate period must be at least 1ms, got ${JSON.stringify(s)}` };
  return { ok: true, rate: { count, perMs } };
}

// Refill arithmetic is floating point; without slack a caller who waits exactly the
// advertised time can find 0.9999999 tokens and be told to wait another millisecond.
const epsilon = 1e-9;

/**
 * A token bucket with continuous refill (count/perMs tokens per ms) that starts full, so
 * `burst` sends may go at once and then the rate holds. Time is passed in, never read.
 */
export class TokenBucket {
  readonly capacity: number;
  private tokens: number;
  private last: number | null = null;

  constructor(
    readonly rate: Rate,
    burst?: number,
  ) {
    const wanted = burst ?? rate.count;
    this.capacity = Number.isFinite(wanted) ? Math.max(1, wanted) : 1;
    this.tokens = this.capacity;
  }

  /** Takes a token and returns 0, or takes nothing and returns the ms until one is available. */
  take(now: number): number {
    this.refill(now);
    if (this.tokens >= 1 - epsilon) {
      this.tokens = Math.max(0, this.tokens - 1);
      return 0;
    }
    return refillWait(this.rate, this.tokens, 1);
  }

  private refill(now: number): void {
    if (this.last === null) {
      this.last = now;
      return;
    }
    // A clock that steps backwards neither refills nor moves the reference back, which
    // would otherwise grant the same interval twice.
    if (now <= this.last) return;
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.rate.count) / this.rate.perMs);
    this.last = now;
  }
}

/** Whole milliseconds (at least 1) until a bucket holding `tokens` holds `wanted` at `rate`. */
export function refillWait(rate: Rate, tokens: number, wanted: number): number {
  return Math.max(1, Math.ceil(((wanted - tokens) * rate.perMs) / rate.count));
}

/**
 * Tokens a node takes at once from a bucket shared by a cluster. What nodes hold unspent
 * is burst the bucket does not see, so a grant is a thirtieth of the burst: three nodes
 * holding a grant each add at most a tenth to it. Smaller rates take one token at a time.
 */
export function grantSize(capacity: number): number {
  return Math.max(1, Math.floor(capacity / 30));
}

/**
 * How long a node waits to ask a shared bucket again after it granted nothing: until a
 * whole grant has gathered, but no longer than `maxMs` unless one token takes longer; so
 * a fast rate is taken a few tokens per statement, and a slow one is not held back.
 */
export function grantWait(rate: Rate, tokens: number, grant: number, maxMs: number): number {
  return Math.max(refillWait(rate, tokens, 1), Math.min(refillWait(rate, tokens, grant), maxMs));
}
