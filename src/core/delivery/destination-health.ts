/**
 * Whether a destination or a next hop is worth connecting to: after `threshold` failures
 * in a row it is marked down for a while (doubling with each failed probe, up to
 * `maxDownMs`), so its deliveries wait in the spool instead of each waiting out a connect
 * timeout. When the time is up, one session probes it.
 *
 * Connection failures are counted per next hop (`HopHealth`: a relay's host:port, an MX
 * host's address), so a dead relay or a silent MX host serving many domains is marked
 * down once for all of them. `DestinationHealth` alone is kept per (infrastructure,
 * domain), for what only the domain explains: its DNS failing.
 */
export interface HealthPolicy {
  threshold: number;
  downMs: number;
  maxDownMs: number;
  /**
   * Connection attempts in progress at once to a next hop that has not answered yet, or
   * whose last attempt failed (a slow start, as Postfix's initial destination concurrency),
   * one fewer for each failure in a row: a silent server sees a few connections, not one
   * per waiting session. Default 5.
   */
  initialConcurrency?: number;
}

export const defaultHealthPolicy: HealthPolicy = { threshold: 3, downMs: 30_000, maxDownMs: 15 * 60_000, initialConcurrency: 5 };

export class DestinationHealth {
  protected failures = 0;
  protected downs = 0;
  private until = 0;

  constructor(protected readonly policy: HealthPolicy = defaultHealthPolicy) {}

  /** When the destination may be tried again; 0 when it is not down. */
  get downUntil(): number {
    return this.until;
  }

  isDown(now: number): boolean {
    return now < this.until;
  }

  /** Past a down period but not yet answering: one session at a time finds out. */
  probing(now: number): boolean {
    return this.downs > 0 && now >= this.until;
  }

  /** True when the destination is (now) down. Failures while already down change nothing. */
  failure(now: number): boolean {
    if (this.isDown(now)) return true;
    this.failures++;
    if (this.failures < this.policy.threshold && this.downs === 0) return false;
    // A failed probe marks it down again at once, for longer.
    this.until = now + Math.min(this.policy.maxDownMs, this.policy.downMs * 2 ** this.downs);
    this.downs++;
    this.failures = 0;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.downs = 0;
    this.until = 0;
  }

  /** Nothing to remember: the entry can be dropped. */
  get healthy(): boolean {
    return this.failures === 0 && this.downs === 0;
  }
}

/**
 * The health of one next hop, shared by every destination routed through it, with the
 * connection attempts in progress to it: `begin` before an attempt, then `settled`
 * with its result (or `abandoned` when none was made).
 */
export class HopHealth extends DestinationHealth {
  private inProgress = 0;
  private answered = false;
  private used = 0;

  /** Attempts started and not yet settled. */
  get inFlight(): number {
    return this.inProgress;
  }

  /** When an attempt last started (0: never). */
  get lastUsed(): number {
    return this.used;
  }

  /** How many attempts may be in progress at once now: one while probing, a few until it answers, else no bound. */
  openLimit(now: number): number {
    if (this.isDown(now)) return 0;
    if (this.probing(now)) return 1;
    // Each failure in a row takes one off (negative feedback, as Postfix's): the attempts a
    // failure frees are not made again until the hop answers or is marked down.
    if (!this.answered || this.failures > 0)
      return Math.max(1, (this.policy.initialConcurrency ?? defaultHealthPolicy.initialConcurrency ?? 5) - this.failures);
    return Infinity;
  }

  mayOpen(now: number): boolean {
    return this.inProgress < this.openLimit(now);
  }

  /** An attempt starts (the caller checked `mayOpen`). */
  begin(now: number): void {
    this.inProgress++;
    this.used = now;
  }

  /** The attempt's result; true when the hop is (now) down. */
  settled(ok: boolean, now: number): boolean {
    this.inProgress = Math.max(0, this.inProgress - 1);
    if (ok) {
      this.answered = true;
      this.success();
      return false;
    }
    return this.failure(now);
  }

  /** An attempt reserved and not made: it says nothing of the hop. */
  abandoned(): void {
    this.inProgress = Math.max(0, this.inProgress - 1);
  }

  /** Nothing to remember and nothing in progress, and unused since `since`: the entry can be dropped. */
  forgettable(since: number): boolean {
    return this.healthy && this.inProgress === 0 && this.used < since;
  }
}

/**
 * When a route may be tried again: 0 while one of its hops is up (or not known, `undefined`),
 * else the earliest time one of them comes back.
 */
export function routeDownUntil(hops: readonly (HopHealth | undefined)[], now: number): number {
  if (hops.length === 0) return 0;
  let until = Infinity;
  for (const h of hops) {
    if (!h || !h.isDown(now)) return 0;
    until = Math.min(until, h.downUntil);
  }
  return until;
}
