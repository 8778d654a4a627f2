import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from './core/clock.ts';

/**
 * Real time that skips ahead: waits of at least `warpMs` return at once and move the clock
 * forward by their length, while short waits (I/O polling, throttles) pass in real time.
 * `simulate` and the upgrade tests run whole programs (days of schedule) in seconds with
 * it, while every switch step still takes its real duration.
 */
export interface WarpHooks {
  /** Runs before a jump: e.g. let mail in flight arrive, as it would in the skipped time. */
  beforeJump?: () => Promise<void>;
  afterJump?: () => void;
}

export class WarpClock implements Clock {
  private offset = 0;
  hooks: WarpHooks = {};

  constructor(
    start = Date.now(),
    private readonly warpMs = 1000,
  ) {
    this.offset = start - Date.now();
  }

  now(): number {
    return Date.now() + this.offset;
  }

  async sleep(ms: number): Promise<void> {
    if (ms >= this.warpMs) {
      await this.hooks.beforeJump?.();
      this.offset += ms;
      this.hooks.afterJump?.();
      await delay(0);
      return;
    }
    await delay(Math.max(0, ms), undefined, { ref: false });
  }

  /** Moves the clock to `at` if that is later than now. */
  jumpTo(at: number): void {
    const now = this.now();
    if (at > now) this.offset += at - now;
  }
}
