import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation } from '../src/simulate/simulation.ts';

test('a 200-instance program in accelerated time: every instance switched exactly once, no mail lost, none through the source after its switch', {
  timeout: 240_000,
}, async (t) => {
  const report = await runSimulation({ instances: 200, held: 2000, rate: 100 });
  t.diagnostic(
    `accepted ${report.accepted}, delivered ${report.delivered}, duplicates ${report.duplicates}, pause p50 ${report.pauseP50Ms} ms p99 ${report.pauseP99Ms} ms, ${report.waves.length} waves, ${report.notices} notices, ${report.realMs} ms real`,
  );
  assert.equal(report.programState, 'completed');
  assert.equal(report.instances, 200);
  assert.equal(report.switchedOnce, 200);
  assert.equal(report.rolledBack, 0);
  assert.ok(report.accepted > 100, `traffic was injected throughout (${report.accepted})`);
  assert.equal(report.lost, 0);
  assert.equal(report.afterSwitchViaSource, 0);
  assert.equal(report.delivered, report.accepted);
  // Non-production waves all come before production ones, and every wave has its estimate.
  const phases = report.waves.map((w) => w.phase);
  assert.equal(phases.lastIndexOf('non-production') < phases.indexOf('production'), true);
  for (const w of report.waves.filter((x) => !x.retry)) {
    assert.ok(w.instances > 0 && w.estimatedMs > 0 && w.actualMs !== null);
    assert.ok(w.pauseP99Ms! < w.estimatedMs, 'the sending pause is far below the announced estimate');
  }
});
