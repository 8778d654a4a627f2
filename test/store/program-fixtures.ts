import type { PlannedWave, ProgramSpec } from '../../src/core/upgrade/program.ts';
import { day, t0, type Fixture } from './fixtures.ts';

export const spec: ProgramSpec = {
  name: 'move',
  sourceInfrastructure: 'blue',
  targetInfrastructure: 'green',
  productLines: ['managed-cloud'],
  nonProductionStart: t0 + 8 * day,
  productionStart: t0 + 31 * day,
  waveSize: 10,
  concurrency: 2,
  allowed: { startMinute: 0, endMinute: 0, weekdays: [1, 2, 3, 4, 5, 6, 7] },
  minNoticeNonProductionMs: 7 * day,
  minNoticeProductionMs: 30 * day,
  remindersMs: [3 * day, day],
  supportContact: 'help@acme.test',
  switchEstimateMs: 30_000,
  drainAllowanceMs: 300_000,
  haltThreshold: 0.1,
};

/**
 * Program `move` published over the fixture's fleet: wave 1 (non-production) with
 * acme-dev, an empty retry wave 2, and wave 3 (production) with acme-prod.
 */
export async function published(fx: Fixture) {
  const program = await fx.programs.create('move', spec, t0);
  const planned = (i: typeof fx.instance) => ({ id: i.id, name: i.name, customerId: i.customerId, environment: i.environment, productLine: i.productLine });
  const waves: PlannedWave[] = [
    {
      index: 1,
      phase: 'non-production',
      start: t0 + 8 * day,
      end: t0 + 8 * day + 3_600_000,
      estimateMs: 600_000,
      instances: [planned(fx.other)],
      retry: false,
    },
    { index: 2, phase: 'non-production', start: t0 + 8 * day + 3_600_000, end: t0 + 8 * day + 7_200_000, estimateMs: 600_000, instances: [], retry: true },
    {
      index: 3,
      phase: 'production',
      start: t0 + 31 * day,
      end: t0 + 31 * day + 3_600_000,
      estimateMs: 600_000,
      instances: [planned(fx.instance)],
      retry: false,
    },
  ];
  await fx.programs.publish(program.id, waves, t0 + 1);
  return program;
}
