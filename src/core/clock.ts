/** Time source. Only the system implementation reads the real time, so tests and
 * `simulate` can run whole programs in accelerated time. */
export interface Clock {
  now(): number;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** A clock that moves only when told to; sleepers wake as time passes them. */
export class ManualClock implements Clock {
  private sleepers: { at: number; wake: () => void }[] = [];
  constructor(private current = 0) {}

  now(): number {
    return this.current;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      this.sleepers.push({ at: this.current + Math.max(0, ms), wake });
      this.sleepers.sort((a, b) => a.at - b.at);
    });
  }

  advance(ms: number): void {
    this.set(this.current + ms);
  }

  set(at: number): void {
    this.current = at;
    while (this.sleepers.length > 0 && this.sleepers[0].at <= this.current) {
      this.sleepers.shift()!.wake();
    }
  }
}
