import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from './core/clock.ts';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => delay(ms).then(() => undefined),
};
