/**
 * A byte budget for message data held in memory by submissions in progress (SMTP DATA,
 * HTTP bodies), shared by both doors. A submission reserves what it will hold before it
 * holds it; when the budget is spent it waits (bounded) or is told to come back later, so
 * memory follows the budget rather than the number of clients.
 */
export class InflightBudget {
  private used = 0;
  private readonly waiters: { bytes: number; grant: () => void }[] = [];

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes` at once if they fit (a single request larger than the whole budget fits when nothing else is held). */
  tryReserve(bytes: number): boolean {
    if (this.waiters.length > 0 || !this.fits(bytes)) return false;
    this.used += bytes;
    return true;
  }

  /** Waits up to `timeoutMs` for `bytes`; false when they did not come free in time. */
  reserve(bytes: number, timeoutMs: number): Promise<boolean> {
    if (this.tryReserve(bytes)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        bytes,
        grant: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
        this.drain();
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    this.drain();
  }

  private fits(bytes: number): boolean {
    return this.used + bytes <= this.limit || this.used === 0;
  }

  /** First come, first served: a large waiter is not starved by a stream of small ones. */
  private drain(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0].bytes)) {
      const w = this.waiters.shift()!;
      this.used += w.bytes;
      w.grant();
    }
  }
}
