/** Announced window lengths are whole multiples of this: customers read them. */
export const announcedStepMs = 5 * 60_000;

/**
 * How many completed switches the prior is worth. Three keeps the first one or two
 * switches (often slow: cold connections, a first canary) from swinging every later
 * window, yet lets a few dozen real switches outweigh a poor guess.
 */
export const priorWeight = 3;

/**
 * Estimated length of a wave: the instances switch `concurrency` at a time, each round
 * taking the per-instance time, and the drain allowance covers in-flight deliveries and
 * stragglers. An empty wave still reserves its drain allowance.
 */
export function waveEstimateMs(instances: number, concurrency: number, perInstanceMs: number, drainAllowanceMs: number): number {
  const rounds = Math.ceil(instances / Math.max(1, concurrency));
  return rounds * perInstanceMs + drainAllowanceMs;
}

/**
 * The per-instance switch time to plan with, from the prior and the durations of
 * completed switches: their mean, with the prior counted as `priorWeight` samples
 * ((priorWeight * prior + sum) / (priorWeight + n)), rounded up to a whole ms.
 *
 * A mean rather than a high percentile because a wave's length is the sum of many
 * switches, and the mean is what a sum grows by; the tail of a wave (its slowest
 * switches) is what the drain allowance and the rounding up of the announced window
 * absorb. Samples that are not finite non-negative numbers are ignored. They are summed
 * in sorted order, so fractional samples too give the same result in any order.
 */
export function runningEstimate(priorMs: number, completedDurationsMs: readonly number[]): number {
  const samples = completedDurationsMs.filter((d) => Number.isFinite(d) && d >= 0).sort((a, b) => a - b);
  let sum = priorWeight * priorMs;
  for (const d of samples) sum += d;
  return Math.ceil(sum / (priorWeight + samples.length));
}

/** The window length announced for an estimate: rounded up to a whole 5 minutes. */
export function announcedLengthMs(estimateMs: number): number {
  return Math.max(1, Math.ceil(estimateMs / announcedStepMs)) * announcedStepMs;
}
