/**
 * Whether a destination (infrastructure, domain) is worth connecting to: after
 * `threshold` connection failures in a row it is marked down for a while (doubling with
 * each failed probe, up to `maxDownMs`), so its deliveries wait in the spool instead of
 * each waiting out a connect timeout. When the time is up, one session probes it.
 */
export interface HealthPolicy {
  threshold: number;
  downMs: number;
  maxDownMs: number;
}

export const defaultHealthPolicy: HealthPolicy = { threshold: 3, downMs: 30_000, maxDownMs: 15 * 60_000 };

export class DestinationHealth {
  private failures = 0;
  private downs = 0;
  private until = 0;

  constructor(private readonly policy: HealthPolicy = defaultHealthPolicy) {}

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
