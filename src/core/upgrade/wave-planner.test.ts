import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { environments, productLines, type Environment, type ProductLine } from '../fleet/fleet.ts';
import { fitsAllowed, parseHours, parseWeekdays } from './allowed-window.ts';
import { announcedLengthMs, waveEstimateMs } from './estimate.ts';
import { phaseOf, type Plan, type PlannedInstance, type ProgramSpec } from './program.ts';
import { planProgram, type PlanResult } from './wave-planner.ts';

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;
// A Monday; the program's phases start well after the default notice.
const now = Date.UTC(2024, 0, 1, 9, 0);

function spec(overrides: Partial<ProgramSpec> = {}): ProgramSpec {
  return {
    name: 'relay-2024',
    sourceInfrastructure: 'old',
    targetInfrastructure: 'new',
    productLines: [...productLines],
    nonProductionStart: now + 10 * day,
    productionStart: now + 40 * day,
    waveSize: 50,
    concurrency: 5,
    allowed: { startMinute: 0, endMinute: 0, weekdays: [1, 2, 3, 4, 5, 6, 7] },
    minNoticeNonProductionMs: 7 * day,
    minNoticeProductionMs: 30 * day,
    remindersMs: [72 * hour, 24 * hour],
    supportContact: 'support@example.com',
    switchEstimateMs: 30 * second,
    drainAllowanceMs: 5 * minute,
    haltThreshold: 0.1,
    ...overrides,
  };
}

function allowed(hours: string | undefined, weekdays?: string): ProgramSpec['allowed'] {
  const h = parseHours(hours);
  const w = parseWeekdays(weekdays);
  assert.ok(h.ok && w.ok);
  return { startMinute: h.startMinute, endMinute: h.endMinute, weekdays: w.weekdays };
}

function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/** `count` instances spread at random over `customers` customers, every product line and environment. */
function fleet(count: number, customers: number, seed = 1): PlannedInstance[] {
  const next = random(seed);
  return Array.from({ length: count }, (_, k) => {
    const customerId = 1 + Math.floor(next() * customers);
    const productLine = productLines[Math.floor(next() * 3)];
    const environment = environments[Math.floor(next() * 3)];
    return { id: k + 1, name: `c${customerId}-${productLine}-${environment}-${k + 1}`, customerId, productLine, environment };
  });
}

function instance(id: number, customerId: number, environment: Environment, productLine: ProductLine = 'managed-cloud'): PlannedInstance {
  return { id, name: `i${id}`, customerId, environment, productLine };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const next = random(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function planned(result: PlanResult): Plan {
  assert.ok(result.ok, result.ok ? '' : result.error);
  return result.plan;
}

/** The properties every plan must have, whatever its input. */
function assertSound(s: ProgramSpec, instances: PlannedInstance[], plan: Plan, at = now): void {
  const affected = instances.filter((i) => s.productLines.includes(i.productLine));
  // Every affected instance in exactly one wave, and nothing else.
  const placed = plan.waves.flatMap((w) => w.instances.map((i) => i.id));
  assert.equal(placed.length, affected.length);
  assert.deepEqual(
    [...placed].sort((a, b) => a - b),
    affected.map((i) => i.id).sort((a, b) => a - b),
  );

  let previousEnd = -Infinity;
  let seenProduction = false;
  for (const [k, wave] of plan.waves.entries()) {
    assert.equal(wave.index, k + 1);
    // Sequential, inside the allowed hours, as long as the estimate announced in whole 5 minutes.
    assert.ok(wave.start >= previousEnd, `wave ${wave.index} starts before wave ${wave.index - 1} ends`);
    assert.ok(fitsAllowed(s.allowed, wave.start, wave.end), `wave ${wave.index} lies outside the allowed hours`);
    assert.equal(wave.end - wave.start, announcedLengthMs(wave.estimateMs));
    assert.ok(wave.instances.length <= s.waveSize);
    for (const i of wave.instances) assert.equal(phaseOf(i.environment), wave.phase);
    // Non-production first; each phase after its earliest start and its notice.
    if (wave.phase === 'production') seenProduction = true;
    else assert.equal(seenProduction, false, 'a non-production wave after a production one');
    const [earliest, notice] = wave.phase === 'production' ? [s.productionStart, s.minNoticeProductionMs] : [s.nonProductionStart, s.minNoticeNonProductionMs];
    assert.ok(wave.start >= earliest && wave.start >= at + notice, `wave ${wave.index} starts too early`);
    previousEnd = wave.end;
  }
  assert.equal(plan.start, plan.waves[0]?.start ?? plan.start);
  assert.equal(plan.end, plan.waves.at(-1)?.end ?? plan.end);
  assert.equal(plan.totalMs, plan.end - plan.start);

  // The built-in canary: every customer's development and staging waves end before its first production wave starts.
  const lastNonProductionEnd = new Map<number, number>();
  const firstProductionStart = new Map<number, number>();
  for (const wave of plan.waves) {
    for (const i of wave.instances) {
      if (wave.phase === 'non-production') lastNonProductionEnd.set(i.customerId, Math.max(wave.end, lastNonProductionEnd.get(i.customerId) ?? -Infinity));
      else firstProductionStart.set(i.customerId, Math.min(wave.start, firstProductionStart.get(i.customerId) ?? Infinity));
    }
  }
  for (const [customer, start] of firstProductionStart) {
    const end = lastNonProductionEnd.get(customer);
    if (end !== undefined) assert.ok(end <= start, `customer ${customer} reaches production before its canary ends`);
  }

  // One empty retry wave per phase with instances, last in its phase, with room for a full wave.
  for (const phase of ['non-production', 'production'] as const) {
    const waves = plan.waves.filter((w) => w.phase === phase);
    if (waves.length === 0) continue;
    const retry = waves.filter((w) => w.retry);
    assert.equal(retry.length, 1, `${phase} has ${retry.length} retry waves`);
    assert.equal(waves.at(-1), retry[0]);
    assert.deepEqual(retry[0].instances, []);
    assert.ok(retry[0].estimateMs >= Math.max(...waves.map((w) => w.estimateMs)));
  }
}

describe('planProgram', () => {
  it('places every affected instance in exactly one wave, phases and customers in order', () => {
    const s = spec();
    const instances = fleet(1_000, 150);
    const plan = planned(planProgram(s, instances, now));
    assertSound(s, instances, plan);
    assert.equal(
      plan.waves.filter((w) => !w.retry).length,
      Math.ceil(instances.filter((i) => i.environment !== 'production').length / 50) +
        Math.ceil(instances.filter((i) => i.environment === 'production').length / 50),
    );
    assert.deepEqual(plan.notes, []);
  });

  it('is deterministic and independent of the input order', () => {
    const s = spec({ allowed: allowed('22:00-06:00', 'mon-fri') });
    const instances = fleet(700, 90, 3);
    const expected = planProgram(s, instances, now);
    assert.deepEqual(planProgram(s, instances, now), expected);
    for (const seed of [1, 2, 3, 4]) assert.deepEqual(planProgram(s, shuffled(instances, seed), now), expected);
  });

  it('breaks ties between equal names by id, so the order still does not matter', () => {
    const s = spec({ waveSize: 3 });
    const instances = Array.from({ length: 12 }, (_, k) => ({ ...instance(k + 1, 1 + (k % 2), 'staging'), name: 'same' }));
    const expected = planProgram(s, instances, now);
    for (const seed of [1, 2, 3]) assert.deepEqual(planProgram(s, shuffled(instances, seed), now), expected);
  });

  it('orders instances by environment, customer and name, spreading a large customer over consecutive waves', () => {
    const instances = [
      ...Array.from({ length: 7 }, (_, k) => ({ ...instance(100 + k, 2, 'development'), name: `big-${k}` })),
      instance(1, 3, 'staging'),
      instance(2, 1, 'development'),
      instance(3, 1, 'staging'),
    ];
    const plan = planned(planProgram(spec({ waveSize: 4 }), instances, now));
    const names = plan.waves.filter((w) => w.phase === 'non-production' && !w.retry).map((w) => w.instances.map((i) => i.name));
    assert.deepEqual(names, [
      ['i2', 'big-0', 'big-1', 'big-2'],
      ['big-3', 'big-4', 'big-5', 'big-6'],
      ['i3', 'i1'],
    ]);
  });

  it('plans only the instances of the program’s product lines', () => {
    const s = spec({ productLines: ['managed-cloud'] });
    const instances = fleet(300, 40);
    const plan = planned(planProgram(s, instances, now));
    assertSound(s, instances, plan);
    assert.ok(plan.waves.every((w) => w.instances.every((i) => i.productLine === 'managed-cloud')));
  });

  it('switches each customer’s development and staging before its production, even when production may start at once', () => {
    const s = spec({ productionStart: now + 10 * day, minNoticeProductionMs: 0, waveSize: 2 });
    const instances = [
      instance(1, 1, 'production'),
      instance(2, 1, 'staging'),
      instance(3, 1, 'development'),
      instance(4, 2, 'production'),
      instance(5, 2, 'development'),
    ];
    const plan = planned(planProgram(s, instances, now));
    assertSound(s, instances, plan);
    const waveOf = new Map(plan.waves.flatMap((w) => w.instances.map((i) => [i.id, w] as const)));
    for (const [nonProduction, production] of [
      [2, 1],
      [3, 1],
      [5, 4],
    ]) {
      assert.ok(waveOf.get(nonProduction)!.end <= waveOf.get(production)!.start);
    }
  });

  const windows: [string, string | undefined, string | undefined][] = [
    ['any hour', undefined, undefined],
    ['nights crossing midnight', '22:00-06:00', undefined],
    ['weekday nights', '22:00-06:00', 'mon-fri'],
    ['weekend nights only', '23:00-05:00', 'sat-sun'],
    ['office hours on weekdays', '09:00-17:00', 'mon-fri'],
    ['all day on Tuesdays and Wednesdays', undefined, 'tue,wed'],
    ['one hour a night', '02:00-03:00', undefined],
  ];
  for (const [title, hours, weekdays] of windows) {
    it(`keeps every window inside the allowed hours: ${title}`, () => {
      const s = spec({ allowed: allowed(hours, weekdays), waveSize: 40, concurrency: 4 });
      const instances = fleet(900, 120, 5);
      const plan = planned(planProgram(s, instances, now));
      assertSound(s, instances, plan);
    });
  }

  it('moves a phase to respect its minimum notice, and says so', () => {
    const s = spec({ nonProductionStart: now + 2 * day, productionStart: now + 3 * day });
    const later = now + 17 * second;
    const instances = fleet(200, 30);
    const plan = planned(planProgram(s, instances, later));
    assertSound(s, instances, plan, later);
    const first = (phase: string) => plan.waves.find((w) => w.phase === phase)!.start;
    // Notice from `now`, rounded up to whole 5 minutes.
    assert.equal(first('non-production'), now + 7 * day + 5 * minute);
    assert.equal(first('production'), now + 30 * day + 5 * minute);
    assert.equal(plan.notes.length, 2);
    assert.match(plan.notes[0], /^non-production phase starts no earlier than 2024-01-08T09:05:00.000Z instead of 2024-01-03T09:00:00.000Z: 7d minimum notice/);
    assert.match(plan.notes[1], /^production phase starts no earlier than 2024-01-31T09:05:00.000Z instead of 2024-01-04T09:00:00.000Z: 30d minimum notice/);
  });

  it('keeps the operator’s start when the notice is already given', () => {
    const s = spec({ nonProductionStart: now + 10 * day + 3 * minute });
    const plan = planned(planProgram(s, fleet(20, 5), now));
    assert.equal(plan.waves[0].start, now + 10 * day + 3 * minute);
    assert.deepEqual(plan.notes, []);
  });

  it('pushes production after the last non-production wave (the retry wave), and says so', () => {
    const s = spec({ productionStart: now + 10 * day, minNoticeProductionMs: 0, waveSize: 10, concurrency: 1 });
    const instances = fleet(300, 40);
    const plan = planned(planProgram(s, instances, now));
    assertSound(s, instances, plan);
    const nonProductionRetry = plan.waves.find((w) => w.phase === 'non-production' && w.retry)!;
    const firstProduction = plan.waves.find((w) => w.phase === 'production')!;
    assert.equal(firstProduction.start, nonProductionRetry.end);
    assert.equal(plan.notes.length, 1);
    assert.match(plan.notes[0], /^production phase starts no earlier than .* the non-production phase \(its retry wave included\) ends at/);
  });

  it('grows a wave’s length with its instance count', () => {
    const s = spec({ waveSize: 50, concurrency: 5, switchEstimateMs: 60 * second, drainAllowanceMs: 5 * minute });
    const instances = Array.from({ length: 120 }, (_, k) => instance(k + 1, k + 1, 'development'));
    const plan = planned(planProgram(s, instances, now));
    const [a, b, c, retry] = plan.waves;
    assert.deepEqual(
      [a, b, c].map((w) => w.instances.length),
      [50, 50, 20],
    );
    assert.deepEqual(
      [a, b, c, retry].map((w) => w.estimateMs),
      [15 * minute, 15 * minute, 9 * minute, 15 * minute],
    );
    assert.deepEqual(
      [a, b, c, retry].map((w) => w.end - w.start),
      [15 * minute, 15 * minute, 10 * minute, 15 * minute],
    );
    assert.equal(plan.totalMs, 55 * minute);
  });

  it('plans with a running estimate in place of the prior when given one', () => {
    const s = spec();
    const instances = fleet(400, 50);
    const prior = planned(planProgram(s, instances, now));
    const slower = planned(planProgram(s, instances, now, 90 * second));
    assertSound(s, instances, slower);
    assert.ok(slower.totalMs > prior.totalMs);
    assert.equal(slower.waves[0].estimateMs, waveEstimateMs(50, 5, 90 * second, 5 * minute));
  });

  it('makes waves smaller when a full wave cannot fit the allowed hours, and says so', () => {
    // One hour a night; 5 minutes per instance one at a time plus 5 minutes of drain: 11 fit.
    const s = spec({ allowed: allowed('01:00-02:00'), waveSize: 50, concurrency: 1, switchEstimateMs: 5 * minute });
    const instances = fleet(100, 20);
    const plan = planned(planProgram(s, instances, now));
    assertSound(s, instances, plan);
    assert.equal(Math.max(...plan.waves.map((w) => w.instances.length)), 11);
    assert.equal(plan.notes.length, 1);
    assert.match(plan.notes[0], /^waves hold at most 11 instances instead of 50, so each fits the allowed hours \(01:00-02:00 UTC/);
  });

  it('refuses to plan when not even one instance fits the allowed hours', () => {
    const s = spec({ allowed: allowed('01:00-01:05'), drainAllowanceMs: 5 * minute });
    const result = planProgram(s, fleet(10, 3), now);
    assert.deepEqual(result, {
      ok: false,
      error: 'a wave of even one instance needs 10m, longer than the allowed hours (01:00-01:05 UTC on weekdays 1,2,3,4,5,6,7) permit',
    });
  });

  it('refuses an instance listed twice', () => {
    const result = planProgram(spec(), [instance(1, 1, 'development'), instance(2, 1, 'staging'), instance(1, 1, 'development')], now);
    assert.deepEqual(result, { ok: false, error: 'instance id 1 is listed more than once' });
  });

  const refusedSpecs: [string, Partial<ProgramSpec>, number | undefined, RegExp][] = [
    ['a wave size of 0', { waveSize: 0 }, undefined, /^waveSize/],
    ['a concurrency of 0', { concurrency: 0 }, undefined, /^concurrency/],
    ['a negative switch time', {}, -1, /per-instance switch time/],
    ['a switch time that is not a number', {}, Number.NaN, /per-instance switch time/],
  ];
  for (const [title, overrides, perInstance, error] of refusedSpecs) {
    it(`refuses ${title}`, () => {
      const result = planProgram(spec(overrides), fleet(10, 3), now, perInstance);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.error, error);
    });
  }

  it('plans an empty program as no waves', () => {
    const plan = planned(planProgram(spec({ productLines: ['classic-managed'] }), [instance(1, 1, 'production', 'managed-cloud')], now));
    assert.deepEqual(plan, { waves: [], start: now, end: now, totalMs: 0, notes: ['no instances of classic-managed: nothing to switch'] });
  });

  it('plans a phase without instances as no waves, not even a retry wave', () => {
    const s = spec();
    const instances = [instance(1, 1, 'production'), instance(2, 2, 'production')];
    const plan = planned(planProgram(s, instances, now));
    assertSound(s, instances, plan);
    assert.deepEqual(
      plan.waves.map((w) => [w.phase, w.retry, w.instances.length]),
      [
        ['production', false, 2],
        ['production', true, 0],
      ],
    );
    assert.equal(plan.start, s.productionStart);
  });

  it('plans 10,000 instances of 2,000 customers soundly', () => {
    const s = spec({ allowed: allowed('22:00-06:00', 'mon-fri') });
    const instances = fleet(10_000, 2_000, 11);
    const plan = planned(planProgram(s, instances, now));
    assertSound(s, instances, plan);
    assert.deepEqual(planProgram(s, shuffled(instances, 9), now), { ok: true, plan });
  });
});
