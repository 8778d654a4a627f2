import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from './core/clock.ts';

export const systemClock: Clock = {
  now: () => Date.now(),
  // Unref'd: a loop waiting for a far-off window must not keep a stopped process alive.
  sleep: (ms) => delay(ms, undefined, { ref: false }).then(() => undefined),
};
