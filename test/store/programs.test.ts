import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProgramRepository } from '../../src/store/program-repository.ts';
import type { PlannedWave, ProgramSpec } from '../../src/core/upgrade/program.ts';
import { testDatabases } from '../helpers/databases.ts';
import { day, t0, useFixture } from './fixtures.ts';

const spec: ProgramSpec = {
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

for (const kind of testDatabases()) {
  describe(kind.name, { skip: kind.skip }, () => {
    const f = useFixture(kind);

    async function published() {
      const fx = f();
      const programs = new ProgramRepository(fx.store.db);
      const program = await programs.create('move', spec, t0);
      const planned = (i: typeof fx.instance) => ({ id: i.id, name: i.name, customerId: i.customerId, environment: i.environment, productLine: i.productLine });
      const waves: PlannedWave[] = [
        { index: 1, phase: 'non-production', start: t0 + 8 * day, end: t0 + 8 * day + 3_600_000, estimateMs: 600_000, instances: [planned(fx.other)], retry: false },
        { index: 2, phase: 'non-production', start: t0 + 8 * day + 3_600_000, end: t0 + 8 * day + 7_200_000, estimateMs: 600_000, instances: [], retry: true },
        { index: 3, phase: 'production', start: t0 + 31 * day, end: t0 + 31 * day + 3_600_000, estimateMs: 600_000, instances: [planned(fx.instance)], retry: false },
      ];
      await programs.publish(program.id, waves, t0 + 1);
      return { fx, programs, program };
    }

    test('publish locks waves and one scheduled switch per instance', async () => {
      const { programs, program } = await published();
      const found = (await programs.find({ name: 'move' }))!;
      assert.equal(found.state, 'published');
      assert.deepEqual(found.spec, spec);
      assert.deepEqual((await programs.waves(program.id)).map((w) => [w.idx, w.phase, w.retry, w.state]), [
        [1, 'non-production', false, 'scheduled'],
        [2, 'non-production', true, 'scheduled'],
        [3, 'production', false, 'scheduled'],
      ]);
      const switches = await programs.switches(program.id);
      assert.deepEqual(switches.map((s) => [s.instanceName, s.waveIdx, s.state]), [['acme-dev', 1, 'scheduled'], ['acme-prod', 3, 'scheduled']]);
      assert.deepEqual((await programs.list(['published'])).map((p) => p.name), ['move']);
    });

    test('a step is persisted only from the state it expects, and logged', async () => {
      const { programs, program } = await published();
      const [sw] = await programs.switches(program.id, 1);
      assert.equal(await programs.transition(sw.id, 'scheduled', 'prechecking', t0 + 10, { started_at: t0 + 10 }), true);
      assert.equal(await programs.transition(sw.id, 'scheduled', 'prechecking', t0 + 11), false, 'a second runner loses');
      assert.equal(await programs.transition(sw.id, 'prechecking', 'rolling-back', t0 + 12, { error: 'pre-check: refused' }, 'pre-check: refused'), true);
      const [after] = await programs.switches(program.id, 1);
      assert.equal(after.state, 'rolling-back');
      assert.equal(after.startedAt, t0 + 10);
      assert.equal(after.error, 'pre-check: refused');
      assert.deepEqual((await programs.switchLog(sw.id)).map((l) => [l.from, l.to, l.detail]), [
        ['scheduled', 'prechecking', null],
        ['prechecking', 'rolling-back', 'pre-check: refused'],
      ]);
      assert.equal((await programs.switchOf(after.instanceId))?.switch.id, sw.id);
    });

    test('completed switch durations feed the running estimate', async () => {
      const { programs, program } = await published();
      const [sw] = await programs.switches(program.id, 1);
      for (const [from, to] of [['scheduled', 'prechecking'], ['prechecking', 'suspending'], ['suspending', 'draining'], ['draining', 'rebinding'], ['rebinding', 'verifying'], ['verifying', 'resuming']] as const) {
        await programs.transition(sw.id, from, to, t0, from === 'scheduled' ? { started_at: t0 } : {});
      }
      await programs.transition(sw.id, 'resuming', 'completed', t0 + 4_000, { switched_at: t0 + 4_000, paused_ms: 1_500, released: 12 });
      assert.deepEqual(await programs.completedDurations(), [4_000]);
    });

    test('notices: queued, due in order, sent, listed per customer and program', async () => {
      const { fx, programs, program } = await published();
      const base = { programId: program.id, customerId: fx.instance.customerId, email: 'ops@acme.test', locale: 'es', timezone: 'Europe/Madrid', waveIdx: 1, detail: { n: 1 } };
      await programs.addNotices([
        { ...base, kind: 'reminder', dueAt: t0 + 5 * day },
        { ...base, kind: 'scheduled', dueAt: t0 },
      ]);
      const due = await programs.dueNotices(t0 + 1, 10);
      assert.deepEqual(due.map((n) => n.kind), ['scheduled']);
      await programs.noticeSent(due[0].id, 'Asunto', 'Cuerpo', 'msg-1', t0 + 2);
      assert.deepEqual((await programs.dueNotices(t0 + 6 * day, 10)).map((n) => n.kind), ['reminder']);
      const listed = await programs.notices({ customerId: fx.instance.customerId });
      assert.deepEqual(listed.map((n) => [n.kind, n.state, n.subject]), [['scheduled', 'sent', 'Asunto'], ['reminder', 'pending', null]]);
      assert.equal((await programs.notices({ programId: program.id })).length, 2);
    });

    test('requests are recorded with their answers; status tokens map to one customer', async () => {
      const { fx, programs, program } = await published();
      await programs.recordRequest(fx.instance.id, program.id, 'reschedule', 'peak season', 'refused: …', t0 + 3);
      assert.deepEqual((await programs.requests(program.id)).map((r) => [r.instance, r.kind, r.reason]), [['acme-prod', 'reschedule', 'peak season']]);
      await programs.setStatusToken(fx.instance.customerId, 'hash-1', t0);
      await programs.setStatusToken(fx.instance.customerId, 'hash-2', t0 + 1);
      assert.equal(await programs.customerOfToken('hash-1'), undefined, 'a new token replaces the old');
      assert.equal(await programs.customerOfToken('hash-2'), fx.instance.customerId);
    });
  });
}
