import { formatDuration } from '../duration.ts';
import type { Environment } from '../fleet/fleet.ts';
import { formatHours, longestFitMs, nextFit } from './allowed-window.ts';
import { announcedLengthMs, announcedStepMs, waveEstimateMs } from './estimate.ts';
import { phaseOf, type Phase, type Plan, type PlannedInstance, type PlannedWave, type ProgramSpec } from './program.ts';

/**
 * A plan, or why none can be made (a single instance's window cannot fit the allowed
 * hours, an instance listed twice): an expected outcome, so a value, not an exception.
 */
export type PlanResult = { ok: true; plan: Plan } | { ok: false; error: string };

const environmentRank: Record<Environment, number> = { development: 0, staging: 1, production: 2 };

/**
 * The order instances go in: environment, customer, name (id breaks ties, so the order is
 * total and the plan does not depend on the input order). A customer with many instances
 * spreads over consecutive waves instead of being reordered around.
 */
export function planningOrder(a: PlannedInstance, b: PlannedInstance): number {
  return (
    environmentRank[a.environment] - environmentRank[b.environment] ||
    a.customerId - b.customerId ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
    a.id - b.id
  );
}

const iso = (t: number) => new Date(t).toISOString();

function alignUp(t: number): number {
  return Math.ceil(t / announcedStepMs) * announcedStepMs;
}

/** Largest wave size up to spec.waveSize whose announced window fits the allowed hours (0 if none). */
function waveSizeThatFits(spec: ProgramSpec, perInstanceMs: number): number {
  const longest = longestFitMs(spec.allowed);
  const fits = (n: number) => announcedLengthMs(waveEstimateMs(n, spec.concurrency, perInstanceMs, spec.drainAllowanceMs)) <= longest;
  let [low, high] = [0, spec.waveSize];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * When a phase may start: its earliest start, no earlier than its minimum notice from
 * now, and (production) no earlier than the end of the non-production phase. Every
 * constraint that moves it is noted. A start derived from `now` is rounded up to a whole
 * 5 minutes, as customers read it; the operator's own start is kept as given.
 */
function phaseStart(phase: Phase, requested: number, minNoticeMs: number, now: number, after: number | null, notes: string[]): number {
  const reasons: string[] = [];
  let start = requested;
  const noticeFloor = alignUp(now + minNoticeMs);
  if (noticeFloor > start) {
    start = noticeFloor;
    reasons.push(`${formatDuration(minNoticeMs)} minimum notice from ${iso(now)}`);
  }
  if (after !== null && after > start) {
    start = after;
    reasons.push(`the non-production phase (its retry wave included) ends at ${iso(after)}`);
  }
  if (start !== requested) notes.push(`${phase} phase starts no earlier than ${iso(start)} instead of ${iso(requested)}: ${reasons.join('; ')}`);
  return start;
}

interface PhaseWaves {
  phase: Phase;
  instances: PlannedInstance[];
  start: number;
}

/** Appends a phase's waves and its retry wave, each at the earliest fit after the previous one; returns the phase's end. */
function planPhase(spec: ProgramSpec, perInstanceMs: number, size: number, p: PhaseWaves, waves: PlannedWave[]): number {
  let cursor = p.start;
  const add = (instances: PlannedInstance[], capacity: number, retry: boolean) => {
    const estimateMs = waveEstimateMs(capacity, spec.concurrency, perInstanceMs, spec.drainAllowanceMs);
    const length = announcedLengthMs(estimateMs);
    const start = nextFit(spec.allowed, cursor, length);
    if (start === null) throw new Error(`bug: a wave of ${capacity} was sized to fit but does not`);
    waves.push({ index: waves.length + 1, phase: p.phase, start, end: start + length, estimateMs, instances, retry });
    cursor = start + length;
  };
  for (let k = 0; k < p.instances.length; k += size) {
    const instances = p.instances.slice(k, k + size);
    add(instances, instances.length, false);
  }
  // Room for a full wave: any of the phase's instances may roll back and land here.
  add([], size, true);
  return cursor;
}

/**
 * Plans an upgrade program: the affected instances (those of spec.productLines) in waves
 * of at most waveSize, non-production (development, staging) before production, so each
 * customer's development and staging instances switch before its production ones. Waves
 * are sequential, each at the earliest fit in the allowed hours after the previous one
 * ends; each phase ends with an empty retry wave sized for a full wave. If a full wave
 * cannot fit the allowed hours, every wave is made as large as fits (noted); if not even
 * one instance fits, there is no plan. Pure and deterministic.
 */
export function planProgram(spec: ProgramSpec, instances: readonly PlannedInstance[], now: number, perInstanceMs = spec.switchEstimateMs): PlanResult {
  if (!Number.isSafeInteger(spec.waveSize) || spec.waveSize < 1)
    return { ok: false, error: `waveSize must be a whole number of at least 1, got ${spec.waveSize}` };
  if (!Number.isSafeInteger(spec.concurrency) || spec.concurrency < 1)
    return { ok: false, error: `concurrency must be a whole number of at least 1, got ${spec.concurrency}` };
  if (!Number.isFinite(perInstanceMs) || perInstanceMs < 0)
    return { ok: false, error: `the per-instance switch time must be a duration of 0 or more, got ${perInstanceMs}` };

  const lines = new Set(spec.productLines);
  const affected = instances.filter((i) => lines.has(i.productLine)).sort(planningOrder);
  const seen = new Set<number>();
  for (const i of affected) {
    if (seen.has(i.id)) return { ok: false, error: `instance id ${i.id} is listed more than once` };
    seen.add(i.id);
  }

  const notes: string[] = [];
  if (affected.length === 0) {
    notes.push(`no instances of ${spec.productLines.join(', ')}: nothing to switch`);
    return { ok: true, plan: { waves: [], start: now, end: now, totalMs: 0, notes } };
  }

  const size = waveSizeThatFits(spec, perInstanceMs);
  const hours = `${formatHours(spec.allowed)} UTC on weekdays ${spec.allowed.weekdays.join(',')}`;
  if (size === 0) {
    const oneMs = announcedLengthMs(waveEstimateMs(1, spec.concurrency, perInstanceMs, spec.drainAllowanceMs));
    return { ok: false, error: `a wave of even one instance needs ${formatDuration(oneMs)}, longer than the allowed hours (${hours}) permit` };
  }
  if (size < spec.waveSize) notes.push(`waves hold at most ${size} instances instead of ${spec.waveSize}, so each fits the allowed hours (${hours})`);

  const waves: PlannedWave[] = [];
  const nonProduction = affected.filter((i) => phaseOf(i.environment) === 'non-production');
  const production = affected.filter((i) => phaseOf(i.environment) === 'production');
  let phaseEnd: number | null = null;
  if (nonProduction.length > 0) {
    const start = phaseStart('non-production', spec.nonProductionStart, spec.minNoticeNonProductionMs, now, null, notes);
    phaseEnd = planPhase(spec, perInstanceMs, size, { phase: 'non-production', instances: nonProduction, start }, waves);
  }
  if (production.length > 0) {
    const start = phaseStart('production', spec.productionStart, spec.minNoticeProductionMs, now, phaseEnd, notes);
    planPhase(spec, perInstanceMs, size, { phase: 'production', instances: production, start }, waves);
  }

  const start = waves[0].start;
  const end = waves[waves.length - 1].end;
  return { ok: true, plan: { waves, start, end, totalMs: end - start, notes } };
}
