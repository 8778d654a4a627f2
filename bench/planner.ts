import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { environments, productLines } from '../src/core/fleet/fleet.ts';
import type { PlannedInstance, ProgramSpec } from '../src/core/upgrade/program.ts';
import { validateProgramSpec } from '../src/core/upgrade/program-spec.ts';
import { planProgram } from '../src/core/upgrade/wave-planner.ts';

export interface PlannerFigures {
  instances: number;
  customers: number;
  waves: number;
  runs: number;
  medianMs: number;
  maxMs: number;
}

/**
 * A synthetic fleet: every customer gets instances across the three product lines and
 * three environments, spread deterministically (a fixed-seed generator) so runs compare.
 */
function syntheticFleet(count: number, customers: number): PlannedInstance[] {
  let seed = 42;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const fleet = Array.from({ length: count }, (_, k) => {
    const customerId = 1 + Math.floor(next() * customers);
    const productLine = productLines[k % 3];
    const environment = environments[Math.floor(k / 3) % 3];
    return { id: k + 1, name: `c${customerId}-${productLine}-${environment}-${k + 1}`, customerId, productLine, environment };
  });
  // Shuffled, as a database would hand it over in no useful order.
  for (let i = fleet.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [fleet[i], fleet[j]] = [fleet[j], fleet[i]];
  }
  return fleet;
}

function programSpec(): ProgramSpec {
  const parsed = validateProgramSpec({
    name: 'bench',
    from: 'old-relays',
    to: 'new-relays',
    nonprodStart: '2025-03-03T22:00:00Z',
    prodStart: '2025-04-07T22:00:00Z',
    hours: '22:00-06:00',
    weekdays: 'mon-fri',
    supportContact: 'support@example.com',
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.spec;
}

export function benchPlanner(count = 10_000, customers = 2_000, runs = 25): PlannerFigures {
  const spec = programSpec();
  const fleet = syntheticFleet(count, customers);
  const now = Date.UTC(2025, 0, 6);
  let waves = 0;
  const once = () => {
    const result = planProgram(spec, fleet, now);
    if (!result.ok) throw new Error(result.error);
    waves = result.plan.waves.length;
  };
  for (let k = 0; k < 3; k += 1) once(); // warm up the JIT
  const times: number[] = [];
  for (let k = 0; k < runs; k += 1) {
    const started = performance.now();
    once();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { instances: count, customers, waves, runs, medianMs: times[Math.floor(runs / 2)], maxMs: times[runs - 1] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const f = benchPlanner();
  console.log(
    `planner: ${f.instances} instances, ${f.customers} customers, ${f.waves} waves; ${f.runs} runs: median ${f.medianMs.toFixed(2)} ms, max ${f.maxMs.toFixed(2)} ms per plan`,
  );
}
